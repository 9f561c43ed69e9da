"""Counters for rate limits: in memory (embedded) or Redis (shared by every instance).

Fixed windows per key for the auth limits; token buckets for the general per-IP and
per-user limits (a steady rate with bursts). Auth endpoints fail closed: if the shared
store cannot be reached, callers get a 503 rather than unlimited guessing.

With Redis, a process takes the general buckets' tokens a few at a time (a lease, see
`Leases`) instead of one round trip per request: that round trip was a third of an
authenticated request's cost (~0.4 ms of a worker's CPU for /me).
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

    async def take(self, buckets: list[tuple[str, Bucket]]) -> float:
        """Take a token from each bucket in turn, stopping at the first empty one; 0 when
        every bucket had one, else seconds until the empty one has."""

    async def close(self) -> None:
        """Release connections."""


class MemoryStore:
    """Single-process counters for the embedded default."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[int, float]] = {}
        self._buckets: dict[str, tuple[float, float, Bucket]] = {}
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

    async def take(self, buckets: list[tuple[str, Bucket]]) -> float:
        async with self._lock:
            now = clock.now_ts()
            wait = 0.0
            for key, bucket in buckets:
                tokens, last, _ = self._buckets.get(key, (float(bucket.burst), now, bucket))
                tokens = min(float(bucket.burst), tokens + (now - last) * bucket.rate)
                if tokens < 1:
                    self._buckets[key] = (tokens, now, bucket)
                    wait = (1 - tokens) / bucket.rate
                    break
                self._buckets[key] = (tokens - 1, now, bucket)
            if len(self._buckets) > 100_000:  # full buckets need no memory
                self._buckets = {
                    k: (t, ts, b)
                    for k, (t, ts, b) in self._buckets.items()
                    if t + (now - ts) * b.rate < b.burst
                }
            return wait

    async def close(self) -> None:
        return None


# A lease is at most a tenth of a bucket's burst (and at most 100 tokens), so tokens one
# process holds unspent keep little from the others; a burst under 20 is never leased.
LEASE_SHARE = 10
LEASE_MAX = 100
# Unspent leased tokens lapse after this long (memory; they were taken from the bucket).
LEASE_SECONDS = 10.0
# Keys a process keeps leases and refusals for at most.
MAX_HELD = 100_000


def lease_size(bucket: Bucket) -> int:
    """How many tokens a process takes from a shared bucket at once."""
    return max(1, min(bucket.burst // LEASE_SHARE, LEASE_MAX))


class Leases:
    """One process's share of the shared token buckets: tokens taken from Redis a few at
    a time and spent here, and refusals remembered until the bucket can have a token.

    The shared bucket never gives out more tokens than it holds, so every process
    together still stays within the limit (leases only move a token's spending in time,
    by at most LEASE_SECONDS); tokens a process leased but does not use are lost to the
    others, at most `lease_size` per process. A refusal is final until its wait is over:
    only time refills a bucket, so no process could be given a token before then."""

    def __init__(self) -> None:
        # key -> [tokens left, usable until, refused until]
        self._held: dict[str, list[float]] = {}

    def refused(self, key: str, now: float) -> float:
        """Seconds this key is still refused for (0 when it is not)."""
        held = self._held.get(key)
        return held[2] - now if held is not None and held[2] > now else 0.0

    def spend(self, key: str, now: float) -> bool:
        """Spend a leased token, if this process holds one."""
        held = self._held.get(key)
        if held is None or held[0] < 1 or held[1] <= now:
            return False
        held[0] -= 1
        return True

    def give_back(self, key: str) -> None:
        """Return a token spent by a request that did not go ahead."""
        held = self._held.get(key)
        if held is not None:
            held[0] += 1

    def lease(self, key: str, tokens: int, now: float) -> None:
        """Tokens the shared bucket gave beyond the one spent at once."""
        held = self._held.get(key)
        left = held[0] if held is not None and held[1] > now else 0
        self._held[key] = [left + tokens, now + LEASE_SECONDS, 0.0]
        self._forget_lapsed(now)

    def refuse(self, key: str, wait: float, now: float) -> None:
        """The shared bucket is empty for `wait` seconds."""
        self._held[key] = [0.0, 0.0, now + wait]
        self._forget_lapsed(now)

    def _forget_lapsed(self, now: float) -> None:
        if len(self._held) <= MAX_HELD:
            return
        kept = {k: v for k, v in self._held.items() if max(v[1], v[2]) > now}
        if len(kept) > MAX_HELD // 2:
            # Still crowded (many addresses at once): forget the oldest half, so the next
            # sweep is 50,000 keys away rather than at every new one. Forgetting is safe:
            # a lease's tokens are forfeited, a forgotten refusal is asked of Redis again.
            kept = dict(list(kept.items())[len(kept) - MAX_HELD // 2 :])
        self._held = kept


class RedisStore:
    """Counters in Redis, shared by every worker and instance."""

    # INCR and set the expiry on first hit in one round trip, atomically.
    _SCRIPT = """
    local n = redis.call('INCR', KEYS[1])
    if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
    return {n, redis.call('PTTL', KEYS[1])}
    """

    # Token buckets in one atomic step, in order: refill each by the time elapsed and take
    # up to the tokens asked for (at least one, or none); at the first empty bucket stop
    # and say how long until it has one. Answers {wait, tokens given per bucket reached}.
    # Several buckets (the caller's address and the caller) cost one round trip.
    _BUCKETS = """
    local now = tonumber(ARGV[1])
    local answer = {'0'}
    for i, key in ipairs(KEYS) do
      local rate, burst = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
      local want = tonumber(ARGV[3 * i + 1])
      local state = redis.call('HMGET', key, 't', 'ts')
      local tokens = tonumber(state[1]) or burst
      local last = tonumber(state[2]) or now
      tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
      local wait, given = 0, 0
      if tokens >= 1 then
        given = math.min(want, math.floor(tokens))
        tokens = tokens - given
      else
        wait = (1 - tokens) / rate
      end
      redis.call('HSET', key, 't', tostring(tokens), 'ts', tostring(now))
      redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
      if wait > 0 then
        answer[1] = tostring(wait)
        return answer
      end
      answer[#answer + 1] = given
    end
    return answer
    """

    def __init__(self, url: str, prefix: str = "staffroom:rl:") -> None:
        from staffroom.core.redis_client import LIMITER_TIMEOUT, redis_client

        self._redis = redis_client(url, LIMITER_TIMEOUT)
        self._prefix = prefix
        self._incr = self._redis.register_script(self._SCRIPT)
        self._buckets = self._redis.register_script(self._BUCKETS)
        self._leases = Leases()

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

    async def take(self, buckets: list[tuple[str, Bucket]]) -> float:
        now = clock.now_ts()
        # In order: a token from this process's lease, a refusal remembered, or Redis.
        local: list[int] = []
        remote: list[int] = []
        refused = 0.0
        for i, (key, _) in enumerate(buckets):
            refused = self._leases.refused(key, now)
            if refused:
                break
            (local if self._leases.spend(key, now) else remote).append(i)
        if not remote:
            return refused
        keys = [self._prefix + "b:" + buckets[i][0] for i in remote]
        args: list[float] = [now]
        for i in remote:
            bucket = buckets[i][1]
            args += [bucket.rate, bucket.burst, lease_size(bucket)]
        try:
            wait, *given = await self._buckets(keys=keys, args=args)
        except Exception as exc:
            raise Unavailable("rate_limit_store_down", "Please try again shortly.") from exc
        for i, tokens in zip(remote, given, strict=False):
            self._leases.lease(buckets[i][0], int(tokens) - 1, now)
        if float(wait) <= 0:
            return refused
        empty = remote[len(given)]
        self._leases.refuse(buckets[empty][0], float(wait), now)
        for i in local:
            if i > empty:  # behind the empty bucket: not charged
                self._leases.give_back(buckets[i][0])
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

    async def check_backoff(self, key: str) -> None:
        """Raise RateLimited while the client behind `key` is made to wait."""
        count, remaining = await self.store.get(f"{key}:wait")
        if count:
            raise RateLimited(max(1, math.ceil(remaining)))

    async def fail_with_backoff(self, key: str, rule: Rule) -> None:
        """Count one client's failure: after `rule.limit` free ones in `rule.window`, each
        further one makes it wait twice as long as the last (1 s, 2 s, 4 s …, at most
        the window). Exponential backoff rather than a lockout: a person who mistypes
        waits seconds, a guessing script is slowed to a crawl."""
        count, _ = await self.store.incr(f"{key}:n", rule.window)
        if count > rule.limit:
            wait = min(2 ** min(count - rule.limit - 1, 30), rule.window)
            await self.store.incr(f"{key}:wait", wait)

    async def take(self, *buckets: tuple[str, Bucket]) -> None:
        """Take a token from each bucket, in one round trip to the store; RateLimited
        (with Retry-After) at the first empty one (those before it are charged).

        The general limits fail open: if the shared store is down the API keeps serving
        (the auth limits, which guard against guessing, still fail closed)."""
        if not buckets:
            return
        try:
            wait = await self.store.take(list(buckets))
        except Unavailable:
            log.warning(
                "rate-limit store unreachable; general limits %s not applied",
                ", ".join(key[:40] for key, _ in buckets),
            )
            return
        if wait > 0:
            raise RateLimited(max(1, math.ceil(wait)))


def make_limiter(redis_url: str) -> RateLimiter:
    """The limiter for the settings: Redis when configured, memory otherwise."""
    return RateLimiter(RedisStore(redis_url) if redis_url else MemoryStore())
