"""The long-lived parts every service call needs, built once per app from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from staffroom.core.blobs import BlobStore, make_blobs
from staffroom.core.crypto import KeyRing, load_keyring
from staffroom.core.dns import DnsTxtLookup, TxtLookup
from staffroom.core.mail import MailQueue, make_backend
from staffroom.core.ratelimit import RateLimiter, make_limiter
from staffroom.core.realtime import LocalRelay, Relay
from staffroom.settings import Settings


@dataclass
class Runtime:
    """Settings, keys, rate limiter, mail queue, DNS, blob storage and the realtime relay."""

    settings: Settings
    keys: KeyRing
    limiter: RateLimiter
    mail: MailQueue
    dns: TxtLookup
    blobs: BlobStore
    relay: Relay

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Wire the embedded or production implementations chosen by settings."""
        return cls(
            settings=settings,
            keys=load_keyring(settings.effective_keys_file),
            limiter=make_limiter(settings.redis_url),
            mail=MailQueue(make_backend(settings), settings.mail_max_attempts),
            dns=DnsTxtLookup(settings.dns_nameservers, settings.dns_timeout),
            blobs=make_blobs(settings),
            relay=LocalRelay(),
        )

    async def close(self) -> None:
        """Release connections."""
        await self.limiter.store.close()
