"""Relay fan-out across API instances through Redis pub/sub.

Every instance keeps one subscriber connection and subscribes it to exactly the topics its
own open sockets listen to (a topic joins on its first local listener, leaves with its
last), so an instance hears only its share of the traffic, and hands what it hears to its
in-process fan-out: a socket held by instance B receives what instance A published.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from staffroom.core.realtime import ControlListener, LocalRelay, RelayUnavailable
from staffroom.core.redis_client import RELAY_TIMEOUT, redis_client

PREFIX = "staffroom:rt:"
# Subscribed for as long as the connection lives: redis-py stops reading a subscriber
# connection that has no subscription left.
_KEEP = PREFIX + "_"
# A subscriber waits this long for Redis to confirm its topics, then goes on (as an app
# would after a slow connect): events before the confirmation may be missed, none after.
CONFIRM_SECONDS = 5
log = logging.getLogger("staffroom.realtime")


class RedisRelay:
    """Publishes to Redis; one listener per process feeds the local subscribers."""

    def __init__(self, url: str) -> None:
        self._redis = redis_client(url, RELAY_TIMEOUT)
        self._local = LocalRelay()
        self.control_listeners: list[ControlListener] = []
        self._listener: asyncio.Task[None] | None = None
        self._pubsub: PubSub | None = None
        self._connected = asyncio.Event()
        self._wanted: Counter[str] = Counter()  # topic -> local subscriptions
        self._confirming: dict[str, list[asyncio.Future[None]]] = {}
        # SUBSCRIBE and UNSUBSCRIBE go out one call at a time, each deciding from the
        # counts at that moment: a topic left and joined at once ends subscribed.
        self._changing = asyncio.Lock()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        await self.publish_many([topic], event)

    async def publish_many(self, topics: list[str], event: dict[str, Any]) -> None:
        # One round trip and one JSON encoding for every member of a conversation.
        data = json.dumps(event, default=str)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for topic in topics:
                    pipe.publish(PREFIX + topic, data)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise RelayUnavailable(f"redis publish failed: {type(exc).__name__}") from exc

    @contextlib.asynccontextmanager
    async def subscribe(self, topics: list[str]) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        if self._listener is None or self._listener.done():
            self._connected.clear()
            self._listener = asyncio.create_task(self._listen())
        wanted = sorted(set(topics))
        self._wanted.update(wanted)
        try:
            # Subscribed before the caller says "ready": nothing published after is missed.
            async with self._local.subscribe(wanted) as events:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._join(wanted), timeout=CONFIRM_SECONDS)
                yield events
        finally:
            self._wanted.subtract(wanted)
            left = [t for t in wanted if self._wanted[t] <= 0]
            for topic in left:
                del self._wanted[topic]
            if left:
                with contextlib.suppress(RedisError, OSError):
                    await self._leave(left)

    async def _join(self, topics: list[str]) -> None:
        """Subscribe the listener's connection to topics and wait for Redis to confirm."""
        await self._connected.wait()
        loop = asyncio.get_running_loop()
        waiting: dict[str, asyncio.Future[None]] = {}
        try:
            async with self._changing:
                pubsub = self._pubsub
                if pubsub is None:
                    return  # reconnecting: the new connection subscribes every wanted topic
                for topic in topics:
                    waiting[PREFIX + topic] = loop.create_future()
                    self._confirming.setdefault(PREFIX + topic, []).append(waiting[PREFIX + topic])
                try:
                    await pubsub.subscribe(*waiting)
                except (RedisError, OSError):
                    return  # the listener reconnects and subscribes them
            await asyncio.gather(*waiting.values())
        finally:  # confirmed, failed or given up on: no longer waited for
            for channel, waiter in waiting.items():
                pending = self._confirming.get(channel, [])
                if waiter in pending:
                    pending.remove(waiter)
                if not pending:
                    self._confirming.pop(channel, None)

    async def _leave(self, topics: list[str]) -> None:
        async with self._changing:
            gone = [PREFIX + t for t in topics if self._wanted[t] <= 0]
            if gone and self._pubsub is not None:
                await self._pubsub.unsubscribe(*gone)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    async with self._changing:
                        await pubsub.subscribe(_KEEP, *(PREFIX + t for t in self._wanted))
                        self._pubsub = pubsub
                    self._connected.set()
                    async for message in pubsub.listen():
                        self._heard(message)
            except asyncio.CancelledError:
                raise
            # Whatever the connection raised (dropped, refused, a reply it could not read), the
            # listener must go on: it listens again shortly.
            except Exception:  # noqa: BLE001
                log.warning("redis relay listener lost its connection; reconnecting")
            finally:
                self._pubsub = None
                self._connected.clear()
            await asyncio.sleep(1)

    def _heard(self, message: dict[str, Any]) -> None:
        raw = message.get("channel")
        if not isinstance(raw, bytes):
            return
        channel = raw.decode()
        if message["type"] == "subscribe":
            for waiter in self._confirming.pop(channel, ()):
                if not waiter.done():
                    waiter.set_result(None)
        elif message["type"] == "message" and channel != _KEEP:
            topic = channel[len(PREFIX) :]
            if self._local.subscriber_count(topic):  # an unsubscribe still on its way
                self._local.deliver(topic, json.loads(message["data"]))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self._redis.aclose()
