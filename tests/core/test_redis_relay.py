"""The Redis relay subscribes an instance to exactly the topics its sockets listen to:
another instance's traffic never reaches it, and a lost connection comes back with every
topic still wanted."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

from staffroom.core.realtime.redis import PREFIX, RedisRelay
from tests.support.servers import RedisServer


async def _next(events: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    return await asyncio.wait_for(anext(events), timeout=3)


async def _receivers(redis: Any, topic: str) -> int:
    """How many instances a publish to this topic reaches (a probe nobody decodes)."""
    return int(await redis.publish(PREFIX + topic, '{"probe": true}'))


async def _until(check: Any, want: int) -> None:
    for _ in range(100):
        if await check() == want:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still {await check()}, wanted {want}")


async def test_an_instance_hears_only_the_topics_its_sockets_listen_to(
    redis_server: RedisServer,
):
    a, b = RedisRelay(redis_server.url), RedisRelay(redis_server.url)
    probe = aioredis.from_url(redis_server.url)
    try:
        async with a.subscribe(["org:1:x", "org:1:y"]) as first:
            assert await _receivers(probe, "org:1:x") == 1
            assert await _receivers(probe, "org:1:elsewhere") == 0  # no pattern: not heard
            assert (await probe.pubsub_numpat()) == 0
            assert (await _next(first))["probe"]
            async with a.subscribe(["org:1:x"]) as second:
                await b.publish("org:1:x", {"n": 1})
                assert (await _next(first))["n"] == 1 and (await _next(second))["n"] == 1
            # The first socket still listens: the topic stays subscribed.
            await b.publish("org:1:x", {"n": 2})
            assert (await _next(first))["n"] == 2
        # The last socket gone, the instance leaves its topics.
        await _until(lambda: _receivers(probe, "org:1:x"), 0)
        assert await _receivers(probe, "org:1:y") == 0
    finally:
        await a.close()
        await b.close()
        await probe.aclose()


async def test_sockets_coming_and_going_at_once_leave_the_topic_subscribed_while_needed(
    redis_server: RedisServer,
):
    relay, probe = RedisRelay(redis_server.url), aioredis.from_url(redis_server.url)

    async def visit() -> None:
        async with relay.subscribe(["org:2:busy"]):
            await asyncio.sleep(random.random() / 50)

    try:
        async with relay.subscribe(["org:2:busy"]) as stays:
            await asyncio.gather(*(visit() for _ in range(60)))
            assert await _receivers(probe, "org:2:busy") == 1
            await relay.publish("org:2:busy", {"still": "here"})
            while (event := await _next(stays)).get("probe"):
                pass
            assert event["still"] == "here"
        await _until(lambda: _receivers(probe, "org:2:busy"), 0)
    finally:
        await relay.close()
        await probe.aclose()


async def test_a_lost_connection_comes_back_with_every_topic_still_wanted(
    redis_server: RedisServer,
):
    relay, probe = RedisRelay(redis_server.url), aioredis.from_url(redis_server.url)
    try:
        async with relay.subscribe(["org:3:a", "org:3:b"]) as events:
            killed = await probe.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            assert killed >= 1
            await _until(lambda: _receivers(probe, "org:3:b"), 1)
            assert (await _next(events))["probe"]  # the probe that found the topic back
            await relay.publish("org:3:a", {"after": "reconnect"})
            assert (await _next(events))["after"] == "reconnect"
    finally:
        await relay.close()
        await probe.aclose()
