"""The one place a Redis client is made (STAFFROOM_REDIS_URL): the rate limiter's shared
counters (`core/ratelimit.py`), the relay's fan-out between instances
(`core/realtime/redis.py`) and the principal cache's subscription to announcements
(`core/realtime/watch.py`) each take one from here, so all connect the same way."""

from __future__ import annotations

from redis.asyncio import Redis

# Rate-limit checks sit on the request path and fail closed (auth) or open (general
# limits) when Redis is slow: they wait little. Relay publishes may wait a little longer.
LIMITER_TIMEOUT = 2.0
RELAY_TIMEOUT = 5.0
# The principal cache's subscription: its own heartbeat (a PING a second, silent for 3 s
# means lost) decides sooner than this whether the connection is alive.
WATCH_TIMEOUT = 5.0


def redis_client(url: str, timeout: float) -> Redis:
    """A client (with its own connection pool) for this URL; `timeout` bounds connecting
    and every reply."""
    client: Redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    return client
