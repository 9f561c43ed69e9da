"""Counters for rate limits: in memory (embedded) or Redis (shared by every instance).

Fixed windows per key for the auth limits; token buckets for the general per-IP and
per-user limits (a steady rate with bursts). Auth endpoints fail closed: if the shared
store cannot be reached, callers get a 503 rather than unlimited guessing.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from typing import Protocol

from staffroom.core import clock
from staffroom.core.errors import RateLimited, Unavailable

log = logging.getLogger("staffroom.ratelimit")


@dataclass(frozen=True)
class Bucket:
    """`rate` requests a second on average, bursts up to `burst`."""

    rate: float
    burst: int


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

    async def take(self, key: str, bucket: Bucket) -> float:
        """Take a token; 0 when there was one, else seconds until there is."""

    async def close(self) -> None:
        """Release connections."""


class MemoryStore:
    """Single-process counters for the embedded default."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, float]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
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

    async def take(self, key: str, bucket: Bucket) -> float:
        async with self._lock:
            now = clock.now_ts()
            tokens, last = self._buckets.get(key, (float(bucket.burst), now))
            tokens = min(float(bucket.burst), tokens + (now - last) * bucket.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1 - tokens) / bucket.rate
            if len(self._buckets) > 100_000:  # full buckets need no memory
                self._buckets = {
                    k: v
                    for k, v in self._buckets.items()
                    if v[0] + (now - v[1]) * bucket.rate < bucket.burst
                }
            return wait

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

    # A token bucket in one atomic step: refill by elapsed time, take one if there is one.
    _BUCKET = """
    local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
    local state = redis.call('HMGET', KEYS[1], 't', 'ts')
    local tokens = tonumber(state[1]) or burst
    local last = tonumber(state[2]) or now
    tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
    local wait = 0
    if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
    redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
    redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
    return tostring(wait)
    """

    def __init__(self, url: str, prefix: str = "staffroom:rl:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._incr = self._redis.register_script(self._SCRIPT)
        self._bucket = self._redis.register_script(self._BUCKET)

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

    async def take(self, key: str, bucket: Bucket) -> float:
        args = [bucket.rate, bucket.burst, clock.now_ts()]
        try:
            wait = await self._bucket(keys=[self._prefix + "b:" + key], args=args)
        except Exception as exc:
            raise Unavailable("rate_limit_store_down", "Please try again shortly.") from exc
        return float(wait)

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

    async def take(self, key: str, bucket: Bucket) -> None:
        """Take a token from a bucket; RateLimited (with Retry-After) when it is empty.

        The general limits fail open: if the shared store is down the API keeps serving
        (the auth limits, which guard against guessing, still fail closed)."""
        try:
            wait = await self.store.take(key, bucket)
        except Unavailable:
            log.warning("rate-limit store unreachable; general limit %s not applied", key[:40])
            return
        if wait > 0:
            raise RateLimited(max(1, math.ceil(wait)))


def make_limiter(redis_url: str) -> RateLimiter:
    """The limiter for the settings: Redis when configured, memory otherwise."""
    return RateLimiter(RedisStore(redis_url) if redis_url else MemoryStore())
