"""The long-lived parts every service call needs, built once per app from Settings.

Everything that lives as long as an app lives here, one per app (`create_app` builds
one): two apps in one process (the tests build several) share none of it. Domains keep
their own per-app state (the hooks other domains register, the relay's fresh-message
cache) as a `part` of the runtime, created on first use."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from piccolo.engine.base import Engine

from staffroom.core import audit, principal_cache
from staffroom.core.blobs import BlobStore, make_archive, make_blobs
from staffroom.core.crypto import KeyRing
from staffroom.core.db.engine import close_pool, start_pool
from staffroom.core.db.sql import engine_of
from staffroom.core.dns import DnsTxtLookup, TxtLookup
from staffroom.core.kms import keyring_for
from staffroom.core.mail import MailQueue, make_backend
from staffroom.core.ratelimit import RateLimiter, make_limiter
from staffroom.core.realtime import LocalRelay, Relay, on_control
from staffroom.core.realtime.pubnub import PubNubGateway
from staffroom.core.realtime.redis import RedisRelay
from staffroom.core.realtime.watch import RedisWatch
from staffroom.settings import Settings

T = TypeVar("T")


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
    # Per-app state of the domains, by its type (see `part`).
    _parts: dict[type, object] = field(default_factory=dict, repr=False)
    # Whether this app has joined the database pool (`start`), so it leaves it once.
    _in_pool: bool = field(default=False, repr=False)

    def part(self, kind: type[T]) -> T:
        """This app's instance of a domain's per-app state (`kind()` on first use)."""
        found = self._parts.get(kind)
        if found is None:
            found = self._parts[kind] = kind()
        return cast(T, found)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Wire the embedded or production implementations chosen by settings (an app or
        a command takes `staffroom.wiring.build_runtime`, which adds the domains' hooks)."""
        keys = keyring_for(settings)
        # Audit events recorded by the caller (a command, a test) are signed with its key;
        # an app binds it per request and for its background work.
        audit.use_key(keys.hmac_key)
        rt = cls(
            settings=settings,
            keys=keys,
            limiter=make_limiter(settings.redis_url),
            mail=MailQueue(make_backend(settings), keys, settings.mail_retry_hours),
            dns=DnsTxtLookup(settings.dns_nameservers, settings.dns_timeout),
            blobs=make_blobs(settings),
            archive=make_archive(settings),
            relay=RedisRelay(settings.redis_url) if settings.redis_url else LocalRelay(),
            pubnub=_pubnub(settings),
        )
        # Who each session is, kept per worker (core/principal_cache.py): this app's
        # cache hears its own process's announcements at once, the other instances'
        # through its Redis subscription.
        principals = principal_cache.of(rt)
        principals.configure(
            settings.principal_cache_seconds,
            RedisWatch(settings.redis_url) if settings.redis_url else None,
        )
        on_control(rt.relay, principals.heard)
        return rt

    async def start(self) -> None:
        """Join the database pool (PostgreSQL; opened by its first user)."""
        if not self._in_pool:
            await start_pool(_engine(), self.settings.database_pool_max)
            self._in_pool = True

    async def close(self) -> None:
        """Release connections, and leave the database pool (closed by its last user)."""
        await self.limiter.store.close()
        await self.relay.close()
        await principal_cache.of(self).close()
        if self.pubnub is not None:
            await self.pubnub.close()
        if self._in_pool:
            self._in_pool = False
            await close_pool(_engine())


def _engine() -> Engine[Any]:
    # Piccolo binds every table to the one engine of piccolo_conf (at import).
    from staffroom.core.tables import AuditEvent

    return engine_of(AuditEvent)


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
