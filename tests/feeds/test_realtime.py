"""Realtime for feeds: the relay, announcements at publish time, the built-in WebSocket."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
from websockets.asyncio.client import connect

from staffroom.core import clock
from staffroom.core.realtime import LocalRelay
from staffroom.feeds.service import events
from tests.support.flows import auth
from tests.support.serve import ServeProcess
from tests.support.sockets import ended
from tests.support.world import World, login


async def _opened(ws_url: str, token: str):  # type: ignore[no-untyped-def]
    """A socket signed in with the token, and its "ready" message."""
    socket = await connect(ws_url)
    await socket.send(json.dumps({"type": "auth", "access_token": token}))
    return socket, json.loads(await asyncio.wait_for(socket.recv(), 5))


async def _hq_with_member(api: httpx.AsyncClient, world: World):  # type: ignore[no-untyped-def]
    """(admin headers, the member's sign-in, the HQ group with the member in it, the HQ
    channel whose audience is that group)."""
    admin = auth(await login(api, "acme", "admin@acme.example"))
    member = await login(api, "acme", "member@acme.example")
    group = (await api.post("/api/v1/groups", json={"name": "HQ"}, headers=admin)).json()
    ids = {"user_ids": [str(world.acme["member"].id)]}
    r = await api.post(f"/api/v1/groups/{group['id']}/members", json=ids, headers=admin)
    assert r.status_code == 200, r.text
    body = {"name": "HQ", "audience": "groups", "audience_group_ids": [group["id"]]}
    hq = (await api.post("/api/v1/channels", json=body, headers=admin)).json()
    return admin, member, group, hq


async def _next(events_iter, seconds: float = 5.0):
    return await asyncio.wait_for(anext(events_iter), timeout=seconds)


async def test_the_relay_delivers_only_subscribed_topics() -> None:
    relay = LocalRelay()
    async with relay.subscribe(["org:a:channel:1"]) as mine:
        await relay.publish("org:b:channel:1", {"type": "x"})
        await relay.publish("org:a:channel:1", {"type": "y"})
        assert (await _next(mine)) == {"topic": "org:a:channel:1", "type": "y"}
        assert relay.subscriber_count("org:a:channel:1") == 1
    assert relay.subscriber_count("org:a:channel:1") == 0


async def test_posts_are_announced_once_when_published(client, world: World, rt) -> None:
    admin = auth(await login(client, "acme", "admin@acme.example"))
    editor = auth(await login(client, "acme", "editor@acme.example"))
    news = (await client.post("/api/v1/channels", json={"name": "News"}, headers=admin)).json()
    topic = f"org:{world.acme.id}:channel:{news['id']}"
    async with rt.relay.subscribe([topic]) as stream:
        now_post = (
            await client.post(
                f"/api/v1/channels/{news['id']}/posts",
                json={"title": "Now", "body": "x"},
                headers=editor,
            )
        ).json()
        event = await _next(stream)
        assert event["type"] == "post.published" and event["post_id"] == now_post["id"]
        later = (
            await client.post(
                f"/api/v1/channels/{news['id']}/posts",
                json={
                    "title": "Later",
                    "body": "x",
                    "publish_at": (clock.utcnow() + timedelta(minutes=10)).isoformat(),
                },
                headers=editor,
            )
        ).json()
        assert await events.announce_due(rt.relay) == 0
        clock.travel(11 * 60)
        assert await events.announce_due(rt.relay) == 1
        event = await _next(stream)
        assert event["post_id"] == later["id"]
        assert await events.announce_due(rt.relay) == 0  # never twice
        editor = auth(await login(client, "acme", "editor@acme.example"))
        await client.patch(f"/api/v1/posts/{later['id']}", json={"title": "L2"}, headers=editor)
        assert (await _next(stream))["type"] == "post.updated"
        await client.delete(f"/api/v1/posts/{later['id']}", headers=editor)
        assert (await _next(stream))["type"] == "post.deleted"


async def test_the_websocket_relays_to_the_audience_only(world: World) -> None:
    server = ServeProcess.start()
    base = server.base
    ws_url = base.replace("http", "ws") + "/api/v1/realtime/ws"
    try:
        async with httpx.AsyncClient(base_url=base) as api:
            admin = auth(await login(api, "acme", "admin@acme.example"))
            editor = auth(await login(api, "acme", "editor@acme.example"))
            member = await login(api, "acme", "member@acme.example")
            group = (await api.post("/api/v1/groups", json={"name": "HQ"}, headers=admin)).json()
            news = (await api.post("/api/v1/channels", json={"name": "News"}, headers=admin)).json()
            hq = (
                await api.post(
                    "/api/v1/channels",
                    json={"name": "HQ", "audience": "groups", "audience_group_ids": [group["id"]]},
                    headers=admin,
                )
            ).json()
            async with connect(ws_url) as socket:
                await socket.send(
                    json.dumps({"type": "auth", "access_token": member["access_token"]})
                )
                ready = json.loads(await asyncio.wait_for(socket.recv(), 5))
                # the one channel the member may read, and their own chat topic
                assert ready == {"type": "ready", "topics": 2}
                for channel, title in ((hq, "secret"), (news, "public")):
                    await api.post(
                        f"/api/v1/channels/{channel['id']}/posts",
                        json={"title": title, "body": "x"},
                        headers=editor,
                    )
                event = json.loads(await asyncio.wait_for(socket.recv(), 5))
                # The HQ post went out first, to its audience only: the member sees the public one.
                assert event["type"] == "post.published" and event["channel_id"] == news["id"]
            for hello in (
                json.dumps({"type": "auth", "access_token": "forged"}),
                json.dumps(["auth", member["access_token"]]),
                "not json {",
                json.dumps({"type": "auth", "access_token": 42}),
            ):
                async with connect(ws_url) as socket:
                    await socket.send(hello)
                    assert await ended(socket) == ("unauthorized", 4401)
    finally:
        server.stop()


async def test_a_socket_whose_channels_changed_asks_the_app_to_reconnect(world: World) -> None:
    # Checked before every event here (the default allows 30 s between checks).
    server = ServeProcess.start(env={"STAFFROOM_REALTIME_RECHECK_SECONDS": "0"})
    ws_url = server.base.replace("http", "ws") + "/api/v1/realtime/ws"
    try:
        async with httpx.AsyncClient(base_url=server.base) as api:
            admin, member, group, hq = await _hq_with_member(api, world)
            news = (await api.post("/api/v1/channels", json={"name": "News"}, headers=admin)).json()

            async def publish(channel: dict, title: str) -> str:
                r = await api.post(
                    f"/api/v1/channels/{channel['id']}/posts",
                    json={"title": title, "body": "x"},
                    headers=admin,
                )
                assert r.status_code == 201, r.text
                return str(r.json()["id"])

            socket, ready = await _opened(ws_url, member["access_token"])
            assert ready == {"type": "ready", "topics": 3}  # News, HQ, their chat topic
            first = await publish(hq, "for HQ")
            assert json.loads(await asyncio.wait_for(socket.recv(), 5))["post_id"] == first
            # Out of the group: the next event does not reach the socket; it asks to reconnect.
            r = await api.delete(
                f"/api/v1/groups/{group['id']}/members/{world.acme['member'].id}", headers=admin
            )
            assert r.status_code in (200, 204), r.text
            await publish(hq, "HQ only, now")
            assert await ended(socket) == ("reconnect", 4000)
            # Reconnected: the channels it may read now.
            socket, ready = await _opened(ws_url, member["access_token"])
            assert ready == {"type": "ready", "topics": 2}
            await publish(hq, "still HQ only")
            public = await publish(news, "for everyone")
            event = json.loads(await asyncio.wait_for(socket.recv(), 5))
            assert event["channel_id"] == news["id"] and event["post_id"] == public
            await socket.close()
    finally:
        server.stop()


async def test_a_change_to_what_someone_may_read_reaches_their_socket_at_once(
    world: World,
) -> None:
    # The default re-check (30 s) and no post sent: the announcements alone act.
    server = ServeProcess.start()
    ws_url = server.base.replace("http", "ws") + "/api/v1/realtime/ws"
    try:
        async with httpx.AsyncClient(base_url=server.base) as api:
            admin, member, group, hq = await _hq_with_member(api, world)
            members_url = f"/api/v1/groups/{group['id']}/members"

            async def quiet(socket) -> None:  # type: ignore[no-untyped-def]
                try:
                    extra = await asyncio.wait_for(socket.recv(), 1)
                except TimeoutError:
                    return
                raise AssertionError(f"the socket should have stayed open, it sent {extra!r}")

            socket, ready = await _opened(ws_url, member["access_token"])
            assert ready == {"type": "ready", "topics": 2}  # HQ and their chat topic
            # Somebody else joining a group concerns only them.
            ids = {"user_ids": [str(world.acme["editor"].id)]}
            assert (await api.post(members_url, json=ids, headers=admin)).status_code == 200
            await quiet(socket)
            # Out of the group: told to reconnect at once.
            r = await api.delete(f"{members_url}/{world.acme['member'].id}", headers=admin)
            assert r.status_code == 204, r.text
            assert await ended(socket) == ("reconnect", 4000)
            socket, ready = await _opened(ws_url, member["access_token"])
            assert ready == {"type": "ready", "topics": 1}
            # A channel archived that they could not read changes nothing for them…
            r = await api.delete(f"/api/v1/channels/{hq['id']}", headers=admin)
            assert r.status_code == 204, r.text
            await quiet(socket)
            # …a new all-company channel does.
            r = await api.post("/api/v1/channels", json={"name": "Canteen"}, headers=admin)
            assert r.status_code == 201, r.text
            assert await ended(socket) == ("reconnect", 4000)
            socket, ready = await _opened(ws_url, member["access_token"])
            assert ready == {"type": "ready", "topics": 2}
            await socket.close()
    finally:
        server.stop()
