"""The built-in relay across instances: two `staffroom serve` processes share a real
redis-server; a message sent through A reaches a socket held by B, and only members."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.chat.helpers import group, say
from tests.support.serve import ServeProcess
from tests.support.servers import RedisServer
from tests.support.world import World, bearer


async def _socket(base: str, headers: dict[str, str]) -> ClientConnection:
    socket = await connect(base.replace("http", "ws", 1) + "/api/v1/chat/ws")
    token = headers["Authorization"].removeprefix("Bearer ")
    await socket.send(json.dumps({"type": "auth", "access_token": token}))
    ready = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert ready["type"] == "ready", ready
    return socket


async def _next(socket: ClientConnection, seconds: float = 10) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), seconds))
    return event


async def test_a_message_sent_through_one_instance_reaches_a_socket_on_another(
    world: World, redis_server: RedisServer
):
    env = {"STAFFROOM_REDIS_URL": redis_server.url, "STAFFROOM_SCHEDULER": "true"}
    a = ServeProcess.start(env=env)
    try:
        b = ServeProcess.start(env=env)
        try:
            async with (
                httpx.AsyncClient(base_url=a.base) as api_a,
                httpx.AsyncClient(base_url=b.base) as api_b,
            ):
                admin = await bearer(api_a, world.acme, "admin")
                member = await bearer(api_b, world.acme, "member")
                editor = await bearer(api_a, world.acme, "editor")
                conv = await group(api_a, world, admin, "member")
                on_b = await _socket(b.base, member)
                outsider = await _socket(a.base, editor)
                try:
                    r = await say(api_a, admin, conv["id"], "Forklift 3 is back", "w1")
                    assert r.status_code == 201, r.text
                    event = await _next(on_b)
                    assert event["type"] == "message.created"
                    assert event["message"]["body"] == "Forklift 3 is back"
                    assert event["conversation_id"] == conv["id"]
                    await say(api_a, admin, conv["id"], "and 4", "w2")
                    assert (await _next(on_b))["message"]["seq"] == 2
                    # Not a member: nothing, on either instance.
                    try:
                        extra = await _next(outsider, 1)
                    except TimeoutError:
                        extra = None
                    assert extra is None, extra
                finally:
                    await on_b.close()
                    await outsider.close()
        finally:
            b.stop()
    finally:
        a.stop()
