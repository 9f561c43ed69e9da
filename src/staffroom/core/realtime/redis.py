"""Relay fan-out across API instances through Redis pub/sub.

Every instance runs one listener (a pattern subscription) and hands what it hears to its
own in-process fan-out, so a socket held by instance B receives what instance A published.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from staffroom.core.realtime import LocalRelay, RelayUnavailable

PREFIX = "staffroom:rt:"
log = logging.getLogger("staffroom.realtime")


class RedisRelay:
    """Publishes to Redis; one listener per process feeds the local subscribers."""

    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._local = LocalRelay()
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

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
            self._listening.clear()
            self._listener = asyncio.create_task(self._listen())
        # Subscribed before the caller says "ready": nothing published after that is missed.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=5)
        async with self._local.subscribe(topics) as events:
            yield events

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(PREFIX + "*")
                    self._listening.set()
                    async for message in pubsub.listen():
                        if message["type"] != "pmessage":
                            continue
                        topic = message["channel"].decode()[len(PREFIX) :]
                        # Every process hears every topic: decode only what is listened to here.
                        if self._local.subscriber_count(topic):
                            await self._local.publish(topic, json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # a dropped connection: listen again shortly
                log.warning("redis relay listener lost its connection; reconnecting")
                self._listening.clear()
                await asyncio.sleep(1)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self._redis.aclose()
