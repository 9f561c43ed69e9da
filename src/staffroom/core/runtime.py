"""The long-lived parts every service call needs, built once per app from Settings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from staffroom.core import audit
from staffroom.core.blobs import BlobStore, make_archive, make_blobs
from staffroom.core.crypto import KeyRing
from staffroom.core.dns import DnsTxtLookup, TxtLookup
from staffroom.core.kms import keyring_for
from staffroom.core.mail import MailQueue, make_backend
from staffroom.core.principal_cache import PrincipalCache
from staffroom.core.ratelimit import RateLimiter, make_limiter
from staffroom.core.realtime import LocalRelay, Relay, on_control
from staffroom.core.realtime.pubnub import PubNubGateway
from staffroom.core.realtime.redis import RedisRelay
from staffroom.core.realtime.watch import RedisWatch
from staffroom.settings import Settings


@dataclass
class Runtime:
    """Settings, keys, rate limiter, mail queue, DNS, blob storage and the realtime relays."""

    settings: Settings
    keys: KeyRing
    limiter: RateLimiter
    mail: MailQueue
    dns: TxtLookup
    blobs: BlobStore
    relay: Relay
    # Backups and the erasure ledger (outside the database).
    archive: BlobStore
    # PubNub when configured: chat reaches devices there too.
    pubnub: PubNubGateway | None = None
    # Set when events were queued for relaying, so the dispatcher does not wait to poll.
    relay_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # Who each session is, kept in the worker (off unless built from settings).
    principals: PrincipalCache = field(default_factory=lambda: PrincipalCache(0))

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Wire the embedded or production implementations chosen by settings."""
        keys = keyring_for(settings)
        audit.use_key(keys.hmac_key)
        relay: Relay = RedisRelay(settings.redis_url) if settings.redis_url else LocalRelay()
        principals = PrincipalCache(
            settings.principal_cache_seconds,
            RedisWatch(settings.redis_url) if settings.redis_url else None,
        )
        on_control(relay, principals.heard)  # this process's own announcements, at once
        return cls(
            settings=settings,
            keys=keys,
            limiter=make_limiter(settings.redis_url),
            mail=MailQueue(make_backend(settings), keys, settings.mail_retry_hours),
            dns=DnsTxtLookup(settings.dns_nameservers, settings.dns_timeout),
            blobs=make_blobs(settings),
            archive=make_archive(settings),
            relay=relay,
            pubnub=_pubnub(settings),
            principals=principals,
        )

    async def close(self) -> None:
        """Release connections."""
        await self.limiter.store.close()
        await self.relay.close()
        await self.principals.close()
        if self.pubnub is not None:
            await self.pubnub.close()


def _pubnub(settings: Settings) -> PubNubGateway | None:
    if not settings.pubnub_enabled:
        return None
    return PubNubGateway(
        publish_key=settings.pubnub_publish_key,
        subscribe_key=settings.pubnub_subscribe_key,
        secret_key=settings.pubnub_secret_key,
        origin=settings.pubnub_origin,
        ssl=settings.pubnub_ssl,
    )
