"""A worker's subscription to the announcements that end cached principals, through Redis.

One connection per worker listens to every control topic (`org:*:control*`: sessions that
ended, changes to what someone may read) and to the cache's own topic (`principals`), as the
relay publishes them (`core/realtime/redis.py`, the same prefix). The cache may be used only
while this subscription is healthy: both subscriptions confirmed, and a heartbeat (a PING
on the subscribed connection every second) answered within the last few seconds, so a
connection that died silently stops the cache as surely as one that was closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from staffroom.core.principal_cache import PRINCIPALS_TOPIC
from staffroom.core.realtime.redis import PREFIX
from staffroom.core.redis_client import WATCH_TIMEOUT, redis_client

if TYPE_CHECKING:
    from staffroom.core.principal_cache import PrincipalCache

CONTROL_PATTERN = PREFIX + "org:*:control*"
HEARTBEAT_SECONDS = 1.0
# Not heard from (no message, no answer to a PING) for this long: treated as lost.
SILENT_SECONDS = 3.0
RECONNECT_SECONDS = 1.0
log = logging.getLogger("staffroom.principal_cache")


class RedisWatch:
    """Hands every announcement heard to the cache; healthy only while subscribed."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._task: asyncio.Task[None] | None = None
        self._subscribed = False
        self._heard_at = 0.0
        self._closed = False

    @property
    def healthy(self) -> bool:
        return self._subscribed and time.monotonic() - self._heard_at < SILENT_SECONDS

    def start(self, cache: PrincipalCache) -> None:
        if self._closed:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(cache))

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._subscribed = False

    async def _run(self, cache: PrincipalCache) -> None:
        while True:
            client = redis_client(self._url, WATCH_TIMEOUT)
            try:
                async with client.pubsub() as pubsub:
                    await self._listen(cache, pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (any lost or refused connection: no cache until back, then retried)
                if self._subscribed:
                    log.warning("principal cache off: lost Redis (%s)", type(exc).__name__)
            finally:
                self._subscribed = False
                cache.clear()  # whatever happened meanwhile was not heard
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self, cache: PrincipalCache, pubsub: Any) -> None:
        await pubsub.psubscribe(CONTROL_PATTERN)
        await pubsub.subscribe(PREFIX + PRINCIPALS_TOPIC)
        confirmed: set[str] = set()
        pinged = self._heard_at = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=HEARTBEAT_SECONDS)
            now = time.monotonic()
            if message is not None:
                self._heard_at = now
                kind = message["type"]
                if kind in ("subscribe", "psubscribe"):
                    confirmed.add(kind)
                    if len(confirmed) == 2:
                        # From here on every announcement reaches us: start afresh.
                        cache.clear()
                        self._subscribed = True
                        log.info("principal cache on: subscribed to announcements")
                elif kind in ("message", "pmessage"):
                    _hand_over(cache, message)
            if now - pinged >= HEARTBEAT_SECONDS:
                await pubsub.ping()
                pinged = now
            if now - self._heard_at > SILENT_SECONDS:
                raise ConnectionError("no answer to the heartbeat")


def _hand_over(cache: PrincipalCache, message: dict[str, Any]) -> None:
    channel = message["channel"]
    topic = channel.decode() if isinstance(channel, bytes) else str(channel)
    try:
        event = json.loads(message["data"])
    except (ValueError, TypeError):
        event = None
    if not isinstance(event, dict):
        cache.clear()
        return
    cache.heard(topic.removeprefix(PREFIX), event)
