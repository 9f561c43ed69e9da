"""PubNub: a local stand-in of its HTTP API, with the real pubnub SDK on both sides: the
server publishes sealed events and grants tokens; a device subscribes with its token and
opens the events with the cipher key it was given (T11)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx
import msgspec
import pytest
from pubnub.callbacks import SubscribeCallback
from pubnub.enums import PNStatusCategory
from pubnub.pnconfiguration import PNConfiguration
from pubnub.pubnub_asyncio import PubNubAsyncio

from staffroom.app import create_app, lifespan
from staffroom.chat.service import outbox
from staffroom.chat.tables import DeviceToken, Outbox
from staffroom.core import clock
from tests.chat.helpers import group, say
from tests.support.pubnub_standin import PubNubStandIn
from tests.support.world import World, assert_problem, bearer

PUB, SUB, SECRET = "pub-c-test", "sub-c-test", "sec-c-very-secret-key"


@contextlib.asynccontextmanager
async def pubnub_app(settings: Any, standin: PubNubStandIn, secret: str = SECRET) -> Any:
    changed = msgspec.structs.replace(
        settings,
        pubnub_publish_key=PUB,
        pubnub_subscribe_key=SUB,
        pubnub_secret_key=secret,
        pubnub_origin=standin.origin,
        pubnub_ssl=False,
    )
    app = create_app(changed)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.20", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, app.state.runtime


class Phone(SubscribeCallback):
    """What a device's app hears on its channels."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.connected = asyncio.Event()

    def status(self, pubnub: Any, status: Any) -> None:
        if status.category == PNStatusCategory.PNConnectedCategory:
            self.connected.set()

    def message(self, pubnub: Any, message: Any) -> None:
        self.inbox.put_nowait(message.message)

    def presence(self, pubnub: Any, presence: Any) -> None:
        pass

    async def next(self, seconds: float = 5) -> Any:
        return await asyncio.wait_for(self.inbox.get(), seconds)

    async def assert_quiet(self) -> None:
        with pytest.raises(TimeoutError):
            extra = await self.next(1)
            raise AssertionError(f"unexpected message {extra}")


@contextlib.asynccontextmanager
async def device(standin: PubNubStandIn, creds: dict[str, Any], channel: dict[str, Any]) -> Any:
    """A phone: the real SDK subscribing with the granted token and the cipher key."""
    conf = PNConfiguration()
    conf.disable_config_locking = False
    conf.subscribe_key = creds["subscribe_key"]
    conf.user_id = creds["user_id"]
    conf.origin = standin.origin
    conf.ssl = False
    conf.cipher_key = channel["cipher_key"]
    phone = PubNubAsyncio(conf)
    phone.set_token(creds["token"])
    listener = Phone()
    phone.add_listener(listener)
    phone.subscribe().channels([channel["channel"]]).execute()
    await asyncio.wait_for(listener.connected.wait(), 5)
    try:
        yield listener
    finally:
        await phone.stop()


@contextlib.asynccontextmanager
async def member_phone(
    client: httpx.AsyncClient, world: World, standin: PubNubStandIn, rt: Any
) -> Any:
    """An admin's group with the member in it, and the member's phone subscribed to it."""
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    conv = await group(client, world, admin, "member")
    await settled(rt)
    creds = (await credentials(client, member))["pubnub"]
    async with device(standin, creds, creds["channels"][0]) as phone:
        yield admin, member, conv, phone


async def settled(rt: Any) -> None:
    """Relay what is queued so far (the conversations' creation told to their members)."""
    while await outbox.dispatch_once(rt):
        pass


async def credentials(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get("/api/v1/chat/credentials", headers=headers)
    assert r.status_code == 200, r.text
    assert SECRET not in r.text and PUB not in r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_device_receives_and_opens_what_the_server_publishes(
    settings, world: World, standin: PubNubStandIn, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    async with pubnub_app(settings, standin) as (client, rt):
        admin = await bearer(client, world.acme, "admin")
        member = await bearer(client, world.acme, "member")
        conv = await group(client, world, admin, "member")
        await settled(rt)
        creds = (await credentials(client, member))["pubnub"]
        (channel,) = creds["channels"]
        assert channel["conversation_id"] == conv["id"]
        assert str(world.acme.id) in channel["channel"]
        async with device(standin, creds, channel) as phone:
            await say(client, admin, conv["id"], "Truck is late", "t1")
            assert await outbox.dispatch_once(rt) == 2  # the built-in relay and PubNub
            event = await phone.next()
            assert event["type"] == "message.created"
            assert event["message"]["body"] == "Truck is late"
        # PubNub's network only ever saw ciphertext.
        assert "Truck" not in str(standin.messages)
        assert standin.unsigned_requests == 0
    assert SECRET not in caplog.text


async def test_tokens_are_read_only_for_own_channels_bound_to_the_user_and_short(
    settings, world: World, standin: PubNubStandIn
):
    async with pubnub_app(settings, standin) as (client, rt):
        admin = await bearer(client, world.acme, "admin")
        member = await bearer(client, world.acme, "member")
        mine = await group(client, world, admin, "member", title="Mine")
        await group(client, world, admin, "editor", title="Not mine")
        creds = (await credentials(client, member))["pubnub"]
        parsed = rt.pubnub._pn.parse_token(creds["token"])
        assert parsed["ttl"] <= 15
        assert parsed["authorized_uuid"] == creds["user_id"]
        assert str(world.acme["member"].id) in creds["user_id"]
        granted = parsed["resources"]["channels"]
        # Their conversation's channel and their own inbox (not the editor's), read only.
        inbox = creds["inbox"]["channel"]
        assert sorted(granted) == sorted([creds["channels"][0]["channel"], inbox])
        assert str(world.acme["member"].id) in inbox and str(world.acme.id) in inbox
        assert [c["conversation_id"] for c in creds["channels"]] == [mine["id"]]
        for perms in granted.values():
            assert perms["read"] and not any(
                perms[p] for p in ("write", "manage", "delete", "get", "update", "join")
            )
        assert parsed["patterns"]["channels"] == {}
        # Another uuid cannot use the token; another channel is refused.
        mine_channel = creds["channels"][0]["channel"]
        async with httpx.AsyncClient(base_url=f"http://{standin.origin}") as raw:

            async def handshake(channel: str, uuid: str) -> int:
                r = await raw.get(
                    f"/v2/subscribe/{SUB}/{channel}/0",
                    params={"tt": "0", "uuid": uuid, "auth": creds["token"]},
                )
                return r.status_code

            assert await handshake(mine_channel, creds["user_id"]) == 200
            assert await handshake(mine_channel, "staffroom.intruder") == 403
            others = f"staffroom.{world.acme.id}.chat.other"
            assert await handshake(f"{mine_channel},{others}", creds["user_id"]) == 403
        # A token is stored sealed, never in the clear.
        row = await DeviceToken.select().first()
        assert row["token"] != creds["token"] and creds["token"] not in str(row)
        # Without PubNub keys the device is sent to the built-in WebSocket.
    r = await client_without_pubnub(settings, world)
    assert r == {
        "relay": "websocket",
        "websocket_url": "wss://staffroom.test/api/v1/chat/ws",
        "pubnub": None,
    }


async def client_without_pubnub(settings: Any, world: World) -> dict[str, Any]:
    app = create_app(settings)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.21", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            member = await bearer(c, world.acme, "member")
            body: dict[str, Any] = (await c.get("/api/v1/chat/credentials", headers=member)).json()
            return body


async def test_removal_and_deactivation_revoke_tokens(
    settings, world: World, standin: PubNubStandIn
):
    async with pubnub_app(settings, standin) as (client, rt):
        admin = await bearer(client, world.acme, "admin")
        member = await bearer(client, world.acme, "member")
        editor = await bearer(client, world.acme, "editor")
        conv = await group(client, world, admin, "member", "editor")
        await settled(rt)
        creds = (await credentials(client, member))["pubnub"]
        async with device(standin, creds, creds["channels"][0]) as phone:
            r = await client.delete(
                f"/api/v1/conversations/{conv['id']}/members/{world.acme['member'].id}",
                headers=admin,
            )
            assert r.status_code == 204
            await outbox.dispatch_once(rt)
            assert creds["token"] in standin.revoked
            # The device learns it was removed; then its token is dead.
            assert (await phone.next())["type"] == "member.removed"
            await say(client, admin, conv["id"], "Bonus info", "b1")
            await outbox.dispatch_once(rt)
            await phone.assert_quiet()  # a removed member no longer receives
        # New credentials no longer include the conversation.
        again = (await credentials(client, member))["pubnub"]
        assert again["channels"] == []
        # Deactivation revokes every live token of the person.
        editor_creds = (await credentials(client, editor))["pubnub"]
        r = await client.post(f"/api/v1/users/{world.acme['editor'].id}/deactivate", headers=admin)
        assert r.status_code in (200, 204), r.text
        await outbox.dispatch_once(rt)
        assert editor_creds["token"] in standin.revoked


async def test_an_outage_delays_messages_but_loses_none(
    settings, world: World, standin: PubNubStandIn
):
    async with pubnub_app(settings, standin) as (client, rt):
        admin = await bearer(client, world.acme, "admin")
        member = await bearer(client, world.acme, "member")
        conv = await group(client, world, admin, "member")
        await settled(rt)
        creds = (await credentials(client, member))["pubnub"]
        channel = creds["channels"][0]
        async with device(standin, creds, channel) as phone:
            standin.failing = 503
            for i in range(5):
                assert (await say(client, admin, conv["id"], f"n{i}", f"c{i}")).status_code == 201
            for _ in range(3):
                await outbox.dispatch_once(rt)
                clock.travel(61)
            assert standin.failed_publishes == 3  # one try per round: the rest waited in order
            standin.failing = None
            await outbox.dispatch_once(rt)
            got = [await phone.next() for _ in range(5)]
            assert [e["message"]["body"] for e in got] == [f"n{i}" for i in range(5)]
            await outbox.dispatch_once(rt)
            await phone.assert_quiet()
        assert len(standin.published_on(channel["channel"])) == 5


async def test_a_wrong_secret_key_is_refused_and_the_message_waits(
    settings, world: World, standin: PubNubStandIn
):
    async with pubnub_app(settings, standin, secret="sec-c-wrong") as (client, rt):
        admin = await bearer(client, world.acme, "admin")
        member = await bearer(client, world.acme, "member")
        conv = await group(client, world, admin, "member")
        await settled(rt)
        assert_problem(await client.get("/api/v1/chat/credentials", headers=member), 503)
        await say(client, admin, conv["id"], "hello", "h1")
        assert await outbox.dispatch_once(rt) == 1  # the built-in relay only
        assert standin.messages == [] and standin.unsigned_requests >= 2


async def test_a_message_too_long_for_pubnub_arrives_there_without_its_body(
    settings, world: World, standin: PubNubStandIn
):
    # Messages up to 64 KiB allowed (the default 8 KiB always fits in PubNub's 32 KiB).
    settings = msgspec.structs.replace(settings, chat_max_message_bytes=65536)
    async with pubnub_app(settings, standin) as (client, rt):
        async with member_phone(client, world, standin, rt) as (admin, member, conv, phone):
            long = "Schichtplan für die Woche 🎉 " * 1200  # ~40,000 bytes
            assert (await say(client, admin, conv["id"], long, "l1")).status_code == 201
            await say(client, admin, conv["id"], "Grüße 👋", "s1")  # sealed as UTF-8
            assert await outbox.dispatch_once(rt) == 4  # both, to both relays
            first, second = await phone.next(), await phone.next()
            assert first["body_omitted"] is True and first["message"]["body"] is None
            assert first["message"]["seq"] == 1
            assert second["message"]["body"] == "Grüße 👋" and "body_omitted" not in second
            r = await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=member)
            assert long.strip() in [m["body"] for m in r.json()["items"]]  # the app reads it here
            await phone.assert_quiet()
        # Never sent over the limit (PubNub, like the stand-in, would refuse it).
        assert standin.rejected_publishes == 0


async def test_an_event_pubnub_refuses_is_abandoned_and_the_next_one_goes(
    settings, world: World, standin: PubNubStandIn
):
    async with pubnub_app(settings, standin) as (client, rt):
        async with member_phone(client, world, standin, rt) as (admin, _member, conv, phone):
            standin.failing = 400  # PubNub: malformed, and it would be again
            await say(client, admin, conv["id"], "refused", "r1")
            assert await outbox.dispatch_once(rt) == 1  # the built-in relay only
            standin.failing = None
            await say(client, admin, conv["id"], "next", "n1")
            assert await outbox.dispatch_once(rt) == 2  # no waiting behind the refused one
            assert (await phone.next())["message"]["body"] == "next"
            await phone.assert_quiet()
        assert standin.failed_publishes == 1  # tried once, not retried
        row = await Outbox.select().where(Outbox.abandoned_at.is_not_null()).first()
        assert row is not None and row["target"] == "pubnub" and row["attempts"] == 1
        assert "RelayRejected" in row["last_error"]


async def test_a_process_without_pubnub_leaves_its_events_to_one_with_it(
    settings, world: World, standin: PubNubStandIn
):
    async with pubnub_app(settings, standin) as (client, rt):
        async with member_phone(client, world, standin, rt) as (admin, _member, conv, phone):
            await say(client, admin, conv["id"], "hello", "h1")
            gateway, rt.pubnub = rt.pubnub, None  # as a process configured without PubNub
            assert await outbox.dispatch_once(rt) == 1  # the built-in relay's event only
            waiting = await Outbox.select().where(Outbox.published_at.is_null())
            assert [(w["target"], w["attempts"], w["abandoned_at"]) for w in waiting] == [
                ("pubnub", 0, None)
            ]
            rt.pubnub = gateway
            assert await outbox.dispatch_once(rt) == 1
            assert (await phone.next())["message"]["body"] == "hello"


async def test_a_person_in_more_conversations_than_pubnub_should_carry_uses_the_socket(
    settings, world: World, standin: PubNubStandIn
):
    settings = msgspec.structs.replace(settings, pubnub_max_channels=2)
    async with pubnub_app(settings, standin) as (client, _rt):
        admin = await bearer(client, world.acme, "admin")
        member = await bearer(client, world.acme, "member")
        editor = await bearer(client, world.acme, "editor")
        await group(client, world, admin, "member", "editor", title="One")
        await group(client, world, admin, "member", title="Two")
        assert len((await credentials(client, member))["pubnub"]["channels"]) == 2
        grants = len(standin.grant_requests)
        await group(client, world, admin, "member", title="Three")
        r = await client.get("/api/v1/chat/credentials", headers=member)
        assert r.status_code == 200 and r.json() == {
            "relay": "websocket",
            "websocket_url": "wss://staffroom.test/api/v1/chat/ws",
            "pubnub": None,
        }
        assert len(standin.grant_requests) == grants  # no token for them at all
        # Somebody in fewer conversations, one of them shared, keeps PubNub.
        assert len((await credentials(client, editor))["pubnub"]["channels"]) == 1
