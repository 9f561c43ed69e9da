"""The outbox: every stored event reaches the built-in relay once, in order, even when
the relay was down meanwhile; removed members stop receiving; a conversation whose events
wait for a retry holds back no other; an event failing every try is given up on, and its
conversation goes on."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from staffroom.chat.service import access, outbox, retention
from staffroom.chat.tables import Outbox
from staffroom.core import clock
from staffroom.core.realtime import LocalRelay, RelayUnavailable
from staffroom.endpoints import metrics
from tests.chat.helpers import group, heads, say
from tests.support.world import World


class FlakyRelay(LocalRelay):
    """The built-in relay with an off switch (Redis down)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        if self.down:
            raise RelayUnavailable("down")
        await super().publish(topic, event)


class PickyRelay(LocalRelay):
    """The built-in relay, down for chosen conversations, and failing (as a bug would) on
    chosen message bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()
        self.broken: set[str] = set()

    async def publish_many(self, topics: list[str], event: dict[str, Any]) -> None:
        if event.get("conversation_id") in self.down:
            raise RelayUnavailable("down for this conversation")
        if event.get("message", {}).get("body") in self.broken:
            raise ValueError("cannot encode this one")
        await super().publish_many(topics, event)


def drain(queue: Any) -> list[dict[str, Any]]:
    found = []
    while True:
        try:
            found.append(queue.get_nowait())
        except asyncio.QueueEmpty:
            return found


async def _listen(relay: LocalRelay, org_id: Any, user_id: Any) -> Any:
    stack = relay.subscribe([access.user_topic(org_id, user_id)])
    events = await stack.__aenter__()
    return stack, events


async def collect(events: Any, n: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(anext(events), 2) for _ in range(n)]


async def assert_quiet(events: Any) -> None:
    """Nothing more arrives."""
    try:
        extra = await asyncio.wait_for(anext(events), 0.3)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected event {extra}")


async def _settled(rt: Any) -> None:
    """Relay what is queued so far (conversations created, members added)."""
    while await outbox.dispatch_once(rt):
        pass


async def test_events_arrive_once_in_order_after_an_outage(client, world: World, rt):
    relay = FlakyRelay()
    rt.relay = relay
    admin, _member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    await _settled(rt)
    stack, events = await _listen(relay, world.acme.id, world.acme["member"].id)
    try:
        relay.down = True
        for i in range(5):
            assert (await say(client, admin, conv["id"], f"n{i}", f"c{i}")).status_code == 201
        assert await outbox.dispatch_once(rt) == 0
        assert await Outbox.count().where(Outbox.published_at.is_null()) == 5
        relay.down = False
        assert await outbox.dispatch_once(rt) == 0  # backing off: not yet
        clock.travel(5)
        assert await outbox.dispatch_once(rt) == 5
        got = await collect(events, 5)
        assert [e["message"]["body"] for e in got] == [f"n{i}" for i in range(5)]
        assert [e["type"] for e in got] == ["message.created"] * 5
        assert len({e["event_id"] for e in got}) == 5
        assert await outbox.dispatch_once(rt) == 0  # never twice
        await assert_quiet(events)
        row = await Outbox.select().where(Outbox.message.is_not_null()).first()
        assert row["attempts"] == 2 and "down" in row["last_error"]
    finally:
        await stack.__aexit__(None, None, None)


async def test_two_dispatchers_never_publish_a_row_twice(client, world: World, rt):
    admin, _member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    await _settled(rt)
    relay = LocalRelay()
    rt.relay = relay
    stack, events = await _listen(relay, world.acme.id, world.acme["member"].id)
    try:
        for i in range(20):
            await say(client, admin, conv["id"], f"n{i}", f"c{i}")
        sent = await asyncio.gather(*(outbox.dispatch_once(rt) for _ in range(3)))
        while await outbox.dispatch_once(rt):
            pass
        clock.travel(outbox.CLAIM_SECONDS + 1)
        sent_late = await outbox.dispatch_once(rt)
        assert sum(sent) + sent_late <= 20
        got = await collect(events, 20)
        assert [e["message"]["seq"] for e in got] == list(range(1, 21))
        await assert_quiet(events)
    finally:
        await stack.__aexit__(None, None, None)


async def test_a_removed_member_stops_receiving(client, world: World, rt):
    relay = LocalRelay()
    rt.relay = relay
    admin, _member = await heads(
        client,
        world,
        "admin",
        "member",
    )
    conv = await group(client, world, admin, "member")
    await _settled(rt)
    stack, events = await _listen(relay, world.acme.id, world.acme["member"].id)
    try:
        await say(client, admin, conv["id"], "before", "b")
        await outbox.dispatch_once(rt)
        assert (await collect(events, 1))[0]["message"]["body"] == "before"
        await client.delete(
            f"/api/v1/conversations/{conv['id']}/members/{world.acme['member'].id}",
            headers=admin,
        )
        await say(client, admin, conv["id"], "after", "a")
        await outbox.dispatch_once(rt)
        removed, left = await collect(events, 2)
        assert removed["type"] == "member.removed"
        assert removed["user_ids"] == [str(world.acme["member"].id)]
        # …and, on their own, that they are out of it.
        assert left["type"] == "conversation.left" and left["reason"] == "removed"
        assert left["conversation_id"] == conv["id"]
        await assert_quiet(events)
    finally:
        await stack.__aexit__(None, None, None)


async def test_a_conversation_waiting_for_a_retry_holds_back_no_other(client, world: World, rt):
    relay = PickyRelay()
    rt.relay = relay
    admin, _member = await heads(client, world, "admin", "member")
    stuck = await group(client, world, admin, "member", title="Stuck")
    other = await group(client, world, admin, "member", title="Other")
    await _settled(rt)
    stack, events = await _listen(relay, world.acme.id, world.acme["member"].id)
    try:
        relay.down.add(stuck["id"])
        for i in range(3):
            await say(client, admin, stuck["id"], f"stuck {i}", f"s{i}")
        assert await outbox.dispatch_once(rt) == 0  # its first event waits for a retry
        await say(client, admin, other["id"], "other", "o1")
        # The batch (two rows here) is not filled with the waiting conversation's rows.
        assert await outbox.dispatch_once(rt, limit=2) == 1
        assert [e["message"]["body"] for e in await collect(events, 1)] == ["other"]
        relay.down.clear()
        clock.travel(5)
        assert await outbox.dispatch_once(rt) == 3
        got = await collect(events, 3)
        assert [e["message"]["body"] for e in got] == [f"stuck {i}" for i in range(3)]
        await assert_quiet(events)
    finally:
        await stack.__aexit__(None, None, None)


async def test_an_event_failing_every_try_is_abandoned_and_its_conversation_goes_on(
    client, world: World, rt, caplog: pytest.LogCaptureFixture
):
    relay = PickyRelay()
    rt.relay = relay
    admin, member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    await _settled(rt)
    stack, events = await _listen(relay, world.acme.id, world.acme["member"].id)
    try:
        relay.broken.add("poison")
        for body in ("first", "poison", "last"):
            assert (await say(client, admin, conv["id"], body, body)).status_code == 201
        assert await outbox.dispatch_once(rt) == 1
        assert [e["message"]["body"] for e in await collect(events, 1)] == ["first"]
        for _ in range(outbox.MAX_ATTEMPTS - 2):  # retried, in order: "last" waits
            clock.travel(outbox.MAX_BACKOFF_SECONDS + 1)
            assert await outbox.dispatch_once(rt) == 0
        clock.travel(outbox.MAX_BACKOFF_SECONDS + 1)
        with caplog.at_level(logging.ERROR, logger="staffroom.chat.outbox"):
            assert await outbox.dispatch_once(rt) == 1  # the last try gives up; "last" goes
        assert [e["message"]["body"] for e in await collect(events, 1)] == ["last"]
        await assert_quiet(events)
        assert "abandoned after 8 tries" in caplog.text
        row = await Outbox.select().where(Outbox.abandoned_at.is_not_null()).first()
        assert row is not None and row["attempts"] == outbox.MAX_ATTEMPTS
        assert row["published_at"] is None and "ValueError" in row["last_error"]
        assert await outbox.dispatch_once(rt) == 0  # never tried again
        # Nothing is lost: the message is in the conversation; the metrics show the event.
        r = await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=member)
        assert [m["body"] for m in r.json()["items"]] == ["last", "poison", "first"]
        await metrics._queues()
        gauge = "staffroom_relay_outbox_abandoned"
        assert REGISTRY.get_sample_value(gauge, {"target": "socket"}) == 1
        assert REGISTRY.get_sample_value("staffroom_relay_outbox_depth", {"target": "socket"}) == 0
    finally:
        await stack.__aexit__(None, None, None)


async def test_events_not_relayed_within_a_day_are_abandoned_then_cleared(client, world: World, rt):
    relay = PickyRelay()
    rt.relay = relay
    admin, _member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    await _settled(rt)
    relay.down.add(conv["id"])
    await say(client, admin, conv["id"], "late", "l1")
    await outbox.dispatch_once(rt)
    clock.travel(3600)
    await retention.run()
    assert await Outbox.count().where(Outbox.abandoned_at.is_not_null()) == 0  # an hour: kept
    clock.travel(retention.HOUSEKEEPING.total_seconds())
    await retention.run()
    row = await Outbox.select().where(Outbox.published_at.is_null()).first()
    assert row is not None and row["abandoned_at"] is not None
    assert row["last_error"] == "not relayed within a day"
    relay.down.clear()
    assert await outbox.dispatch_once(rt) == 0  # a day-old push is not sent
    clock.travel((retention.ABANDONED_KEPT - timedelta(hours=1)).total_seconds())
    await retention.run()
    assert await Outbox.count().where(Outbox.published_at.is_null()) == 1
    clock.travel(7200)
    await retention.run()
    assert await Outbox.count().where(Outbox.published_at.is_null()) == 0
