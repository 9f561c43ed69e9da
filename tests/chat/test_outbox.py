"""The outbox: every stored event reaches the built-in relay once, in order, even when
the relay was down meanwhile; removed members stop receiving."""

from __future__ import annotations

import asyncio
from typing import Any

from staffroom.chat.service import access, outbox
from staffroom.chat.tables import Outbox
from staffroom.core import clock
from staffroom.core.realtime import LocalRelay, RelayUnavailable
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


async def test_events_arrive_once_in_order_after_an_outage(client, world: World, rt):
    relay = FlakyRelay()
    rt.relay = relay
    admin, _member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
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
        row = await Outbox.select().first()
        assert row["attempts"] == 2 and "down" in row["last_error"]
    finally:
        await stack.__aexit__(None, None, None)


async def test_two_dispatchers_never_publish_a_row_twice(client, world: World, rt):
    admin, _member = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
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
        removed = (await collect(events, 1))[0]
        assert removed["type"] == "member.removed"
        assert removed["user_ids"] == [str(world.acme["member"].id)]
        await assert_quiet(events)
    finally:
        await stack.__aexit__(None, None, None)
