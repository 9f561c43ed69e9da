"""Counters for rate limits: in memory (embedded) or Redis (shared by every instance).

Fixed windows per key. Auth endpoints fail closed: if the shared store cannot be
reached, callers get a 503 rather than unlimited guessing.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Protocol

from staffroom.core import clock
from staffroom.core.errors import RateLimited, Unavailable


@dataclass(frozen=True)
class Rule:
    """At most `limit` hits per `window` seconds."""

    limit: int
    window: int


class CounterStore(Protocol):
    """Where hit counts live."""

    async def incr(self, key: str, window: int) -> tuple[int, float]:
        """Count one hit; return the count in the current window and seconds until it resets."""

    async def get(self, key: str) -> tuple[int, float]:
        """The count in the current window and seconds until it resets (0, 0 when empty)."""

    async def clear(self, key: str) -> None:
        """Forget a key (e.g. failures after a successful login)."""

    async def close(self) -> None:
        """Release connections."""


class MemoryStore:
    """Single-process counters for the embedded default."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, float]] = {}
        self._lock = asyncio.Lock()

    async def incr(self, key: str, window: int) -> tuple[int, float]:
        async with self._lock:
            now = clock.now_ts()
            count, reset_at = self._data.get(key, (0, 0.0))
            if reset_at <= now:
                count, reset_at = 0, now + window
            count += 1
            self._data[key] = (count, reset_at)
            if len(self._data) > 100_000:
                self._data = {k: v for k, v in self._data.items() if v[1] > now}
            return count, reset_at - now

    async def get(self, key: str) -> tuple[int, float]:
        now = clock.now_ts()
        count, reset_at = self._data.get(key, (0, 0.0))
        return (count, reset_at - now) if reset_at > now else (0, 0.0)

    async def clear(self, key: str) -> None:
        self._data.pop(key, None)

    async def close(self) -> None:
        return None


class RedisStore:
    """Counters in Redis, shared by every worker and instance."""

    # INCR and set the expiry on first hit in one round trip, atomically.
    _SCRIPT = """
    local n = redis.call('INCR', KEYS[1])
    if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
    return {n, redis.call('PTTL', KEYS[1])}
    """

    def __init__(self, url: str, prefix: str = "staffroom:rl:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._incr = self._redis.register_script(self._SCRIPT)

    async def incr(self, key: str, window: int) -> tuple[int, float]:
        try:
            count, ttl_ms = await self._incr(keys=[self._prefix + key], args=[window * 1000])
        except Exception as exc:  # any Redis failure: fail closed
            raise Unavailable("rate_limit_store_down", "Please try again shortly.") from exc
        return int(count), max(int(ttl_ms), 0) / 1000

    async def get(self, key: str) -> tuple[int, float]:
        try:
            pipe = self._redis.pipeline()
            pipe.get(self._prefix + key)
            pipe.pttl(self._prefix + key)
            raw, ttl_ms = await pipe.execute()
        except Exception as exc:
            raise Unavailable("rate_limit_store_down", "Please try again shortly.") from exc
        return (int(raw), ttl_ms / 1000) if raw is not None and ttl_ms > 0 else (0, 0.0)

    async def clear(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except Exception as exc:
            raise Unavailable("rate_limit_store_down", "Please try again shortly.") from exc

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    """Checks and counts hits against rules."""

    def __init__(self, store: CounterStore) -> None:
        self.store = store

    async def hit(self, key: str, rule: Rule) -> None:
        """Count a hit; raise RateLimited when it goes over the rule."""
        count, remaining = await self.store.incr(key, rule.window)
        if count > rule.limit:
            raise RateLimited(math.ceil(remaining))

    async def check(self, key: str, rule: Rule) -> None:
        """Raise RateLimited if the key is already at its limit, without counting."""
        count, remaining = await self.store.get(key)
        if count >= rule.limit:
            raise RateLimited(math.ceil(remaining))

    async def clear(self, key: str) -> None:
        """Reset a key."""
        await self.store.clear(key)


def make_limiter(redis_url: str) -> RateLimiter:
    """The limiter for the settings: Redis when configured, memory otherwise."""
    return RateLimiter(RedisStore(redis_url) if redis_url else MemoryStore())
