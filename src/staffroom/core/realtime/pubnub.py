"""PubNub: publishes chat events to devices and grants them read access. The only module
that imports the pubnub SDK; the secret key stays inside it.

Payloads are sealed with PubNub's own crypto module (AES-256-CBC, random IV) under a
per-conversation cipher key, so PubNub's network never sees a message in the clear and a
device can open only what its cipher keys cover.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from pubnub.crypto import AesCbcCryptoModule
from pubnub.models.consumer.v3.channel import Channel
from pubnub.pnconfiguration import PNConfiguration
from pubnub.pubnub_asyncio import PubNubAsyncio

from staffroom.core.realtime import PayloadTooLarge, RelayRejected, RelayUnavailable

# PubNub's Access Manager counts token lifetimes in minutes.
MAX_TOKEN_MINUTES = 15
SERVER_UUID = "staffroom-server"
log = logging.getLogger("staffroom.realtime")
# The SDK logs an ERROR for every failed request: hundreds a minute while PubNub is down.
# The outbox keeps each failure (last_error, the queue-depth metric) and retries; quiet it.
logging.getLogger("pubnub").setLevel(logging.CRITICAL)


def _cipher(cipher_key: str) -> AesCbcCryptoModule:
    conf = PNConfiguration()
    conf.cipher_key = cipher_key
    return AesCbcCryptoModule(conf)


# PubNub refuses a message over ~32 KiB, counting the channel name and some of the request
# around it, and advises staying under 30 KiB to be safe; we do.
MAX_MESSAGE_BYTES = 30 * 1024


def seal(cipher_key: str, payload: dict[str, Any]) -> str:
    """Encrypt a payload the way a PubNub client with this cipher key decrypts it."""
    # UTF-8 rather than \u escapes: a message of emoji would triple in size otherwise.
    plain = json.dumps(payload, default=str, ensure_ascii=False)
    return str(_cipher(cipher_key).encrypt(plain))


def unseal(cipher_key: str, sealed: str) -> Any:
    """Decrypt a sealed payload (what a device does; used by tests and diagnostics)."""
    return _cipher(cipher_key).decrypt(sealed)


class PubNubGateway:
    """Publish, grant and revoke against PubNub (or a stand-in at `origin`)."""

    def __init__(
        self,
        *,
        publish_key: str,
        subscribe_key: str,
        secret_key: str,
        origin: str = "",
        ssl: bool = True,
        timeout: float = 10.0,
    ) -> None:
        conf = PNConfiguration()
        conf.disable_config_locking = False  # an immutable config (the SDK's future default)
        conf.publish_key = publish_key
        conf.subscribe_key = subscribe_key
        conf.secret_key = secret_key
        conf.user_id = SERVER_UUID
        conf.ssl = ssl
        conf.non_subscribe_request_timeout = int(timeout)
        conf.connect_timeout = int(timeout)
        if origin:
            conf.origin = origin
        conf.lock()
        self.subscribe_key = subscribe_key
        self._conf = conf
        self._client: PubNubAsyncio | None = None

    @property
    def _pn(self) -> PubNubAsyncio:
        # Made in the serving event loop (the SDK binds to the loop it is created in).
        loop = asyncio.get_running_loop()
        if self._client is None or self._client.event_loop is not loop:
            self._client = PubNubAsyncio(self._conf, custom_event_loop=loop)
        return self._client

    def __repr__(self) -> str:  # never print the keys
        return f"PubNubGateway(subscribe_key={self.subscribe_key!r})"

    async def publish(self, channel: str, payload: dict[str, Any], cipher_key: str) -> None:
        """Publish one sealed event. PayloadTooLarge before sending when it is over PubNub's
        limit; RelayRejected when PubNub refuses it as malformed or too large (it would
        again); RelayUnavailable for anything else (the caller retries)."""
        sealed = seal(cipher_key, payload)
        if len(sealed) + len(channel) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"{len(sealed)} bytes sealed, over PubNub's message limit")
        envelope = await (
            self._pn.publish()
            .channel(channel)
            .message(sealed)
            .use_post(True)
            .should_store(False)
            .future()
        )
        if envelope.is_error():
            status = getattr(envelope.status, "status_code", None)
            if status in (400, 413, 414):
                raise RelayRejected(f"pubnub refused the event: {_reason(envelope)}")
            raise RelayUnavailable(f"pubnub publish failed: {_reason(envelope)}")

    async def grant(self, user_uuid: str, channels: list[str], minutes: int) -> str:
        """A read-only token for exactly these channels, usable only by this user uuid."""
        minutes = max(1, min(minutes, MAX_TOKEN_MINUTES))
        envelope = await (
            self._pn.grant_token()
            .ttl(minutes)
            .authorized_uuid(user_uuid)
            .channels([Channel.id(name).read() for name in channels])
            .future()
        )
        if envelope.is_error():
            raise RelayUnavailable(f"pubnub grant failed: {_reason(envelope)}")
        return str(envelope.result.token)

    async def revoke(self, token: str) -> None:
        """Revoke a token now; one PubNub no longer knows (expired) counts as revoked."""
        envelope = await self._pn.revoke_token(token).future()
        if envelope.is_error():
            status = getattr(envelope.status, "status_code", None)
            if status in (400, 404):  # unknown or expired token: nothing left to revoke
                log.info("pubnub revoke: token already gone (%s)", status)
                return
            raise RelayUnavailable(f"pubnub revoke failed: {_reason(envelope)}")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.stop()
            self._client = None


def _reason(envelope: Any) -> str:
    status = getattr(envelope, "status", None)
    code = getattr(status, "status_code", None)
    category = getattr(status, "category", None)
    return f"status={code} category={category}"
