"""The built-in relay across instances: two `staffroom serve` processes share a real
redis-server; a message sent through A reaches a socket held by B, and only members."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from staffroom.chat.service import access
from staffroom.core.realtime.redis import RedisRelay
from tests.chat.helpers import group, say
from tests.support.gate import Gate, Loop
from tests.support.serve import ServeProcess
from tests.support.servers import RedisServer
from tests.support.sockets import ended
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


@contextlib.asynccontextmanager
async def _two_instances(env: dict[str, str]) -> AsyncIterator[Any]:
    """Two `staffroom serve` processes sharing Redis, with an API client for each."""
    a = ServeProcess.start(env=env)
    try:
        b = ServeProcess.start(env=env)
        try:
            async with (
                httpx.AsyncClient(base_url=a.base) as api_a,
                httpx.AsyncClient(base_url=b.base) as api_b,
            ):
                yield a, b, api_a, api_b
        finally:
            b.stop()
    finally:
        a.stop()


async def test_a_message_sent_through_one_instance_reaches_a_socket_on_another(
    world: World, redis_server: RedisServer
):
    env = {"STAFFROOM_REDIS_URL": redis_server.url, "STAFFROOM_SCHEDULER": "true"}
    async with _two_instances(env) as (a, b, api_a, api_b):
        admin = await bearer(api_a, world.acme, "admin")
        member = await bearer(api_b, world.acme, "member")
        editor = await bearer(api_a, world.acme, "editor")
        on_b = await _socket(b.base, member)
        outsider = await _socket(a.base, editor)
        conv = await group(api_a, world, admin, "member")
        try:
            # A conversation created with them: told on their own, on either instance.
            joined = await _next(on_b)
            assert joined["type"] == "conversation.joined" and joined["reason"] == "created"
            assert joined["conversation_id"] == conv["id"]
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


async def test_an_open_socket_ends_with_its_session_and_lives_on_a_refreshed_token(
    world: World, redis_server: RedisServer
):
    # Checked before every event here (the default allows 30 s between checks).
    env = {
        "STAFFROOM_REDIS_URL": redis_server.url,
        "STAFFROOM_SCHEDULER": "true",
        "STAFFROOM_REALTIME_RECHECK_SECONDS": "0",
    }
    server = ServeProcess.start(env=env)
    try:
        async with httpx.AsyncClient(base_url=server.base) as api:
            admin = await bearer(api, world.acme, "admin")
            phone = await bearer(api, world.acme, "member")  # the socket's first session
            tablet = await bearer(api, world.acme, "member")  # a second one of the same person
            editor = await bearer(api, world.acme, "editor")
            socket = await _socket(server.base, phone)
            conv = await group(api, world, admin, "member", "editor")
            assert (await _next(socket))["type"] == "conversation.joined"
            assert (await say(api, admin, conv["id"], "one", "s1")).status_code == 201
            assert (await _next(socket))["message"]["body"] == "one"
            # A refreshed token of the same person keeps the socket…
            token = tablet["Authorization"].removeprefix("Bearer ")
            await socket.send(json.dumps({"type": "auth", "access_token": token}))
            assert (await _next(socket))["type"] == "renewed"
            # …so ending the first session no longer concerns it.
            assert (await api.post("/api/v1/auth/logout", headers=phone)).status_code == 204
            assert (await say(api, admin, conv["id"], "two", "s2")).status_code == 201
            assert (await _next(socket))["message"]["body"] == "two"
            # Signed out: the next event closes the socket instead of reaching it.
            assert (await api.post("/api/v1/auth/logout", headers=tablet)).status_code == 204
            assert (await say(api, admin, conv["id"], "three", "s3")).status_code == 201
            assert await ended(socket) == ("unauthorized", 4401)

            # Somebody else's token is no renewal: the socket closes.
            other = await _socket(server.base, await bearer(api, world.acme, "member"))
            token = editor["Authorization"].removeprefix("Bearer ")
            await other.send(json.dumps({"type": "auth", "access_token": token}))
            assert await ended(other) == ("unauthorized", 4401)
            # Pings and other text are ignored, as before.
            third = await _socket(server.base, await bearer(api, world.acme, "member"))
            await third.send("ping")
            await third.send(json.dumps({"type": "hello", "note": "auth"}))
            assert (await say(api, admin, conv["id"], "four", "s4")).status_code == 201
            assert (await _next(third))["message"]["body"] == "four"
            await third.close()
    finally:
        server.stop()


@pytest.mark.skipif(
    os.environ.get("STAFFROOM_TEST_DB", "sqlite") != "postgres", reason="a database server"
)
async def test_a_socket_closes_with_try_again_later_while_the_database_is_unreachable(
    world: World, redis_server: RedisServer
):
    # The server reaches PostgreSQL through a gate the test can shut (PostgreSQL itself,
    # shared by the whole run, keeps going).
    database = urlsplit(os.environ["STAFFROOM_DATABASE_URL"])
    gate = Gate(Loop(), database.port or 5432)
    gate.open()
    env = {
        "STAFFROOM_REDIS_URL": redis_server.url,
        "STAFFROOM_DATABASE_URL": database._replace(
            netloc=f"{database.netloc.split('@')[0]}@127.0.0.1:{gate.port}"
        ).geturl(),
        "STAFFROOM_REALTIME_RECHECK_SECONDS": "0",
    }
    server = ServeProcess.start(env=env)
    relay = RedisRelay(redis_server.url)
    try:
        async with httpx.AsyncClient(base_url=server.base) as api:
            member = await bearer(api, world.acme, "member")
            socket = await _socket(server.base, member)
            gate.close()
            topic = access.user_topic(world.acme.id, world.acme["member"].id)
            await relay.publish(topic, {"type": "message.created", "note": "during the outage"})
            assert await ended(socket) == ("service_unavailable", 1013)
            # A new socket is told the same, not left hanging or failed with 1011.
            fresh = await connect(server.base.replace("http", "ws", 1) + "/api/v1/chat/ws")
            token = member["Authorization"].removeprefix("Bearer ")
            await fresh.send(json.dumps({"type": "auth", "access_token": token}))
            assert await ended(fresh) == ("service_unavailable", 1013)
            # Back: the app reconnects and is served.
            gate.open()
            again = await _socket(server.base, member)
            await relay.publish(topic, {"type": "message.created", "note": "after"})
            assert (await _next(again))["note"] == "after"
            await again.close()
    finally:
        await relay.close()
        server.stop()
        gate.close()


async def test_a_socket_closes_as_soon_as_its_session_ends_with_no_event_needed(
    world: World, redis_server: RedisServer
):
    # Two instances sharing Redis, the default re-check (30 s, and only before events):
    # the announcement of the ended session closes the socket, wherever it is held.
    env = {"STAFFROOM_REDIS_URL": redis_server.url}
    async with _two_instances(env) as (a, b, api_a, api_b):
        phone = await bearer(api_a, world.acme, "member")
        tablet = await bearer(api_a, world.acme, "member")
        admin = await bearer(api_a, world.acme, "admin")
        on_phone = await _socket(b.base, phone)
        on_tablet = await _socket(a.base, tablet)
        # Signing out on the phone ends the phone's socket (held by the other
        # instance), not the tablet's.
        r = await api_a.post("/api/v1/auth/logout", headers=phone)
        assert r.status_code == 204
        assert await ended(on_phone) == ("unauthorized", 4401)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(on_tablet.recv(), 1)
        # Deactivation ends every session of the person: the tablet's socket too.
        url = f"/api/v1/users/{world.acme['member'].id}/deactivate"
        r = await api_b.post(url, headers=admin)
        assert r.status_code in (200, 204), r.text
        assert await ended(on_tablet) == ("unauthorized", 4401)
