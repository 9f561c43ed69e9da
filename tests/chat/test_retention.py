"""Retention: an org's setting deletes chat messages older than N days; others stay."""

from __future__ import annotations

from staffroom.accounts.tables import Org
from staffroom.chat.service import retention
from staffroom.chat.tables import Message
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from tests.chat.helpers import group, heads, say
from tests.cli.test_cli import staffroom
from tests.support.world import World, assert_problem


async def test_old_messages_go_when_the_org_keeps_chat_for_n_days(client, world: World):
    admin, member = await heads(client, world, "admin", "member")
    r = await client.patch("/api/v1/org", json={"chat_retention_days": 0}, headers=admin)
    assert_problem(r, 400)
    r = await client.patch("/api/v1/org", json={"chat_retention_days": 30}, headers=admin)
    assert r.status_code == 200 and r.json()["chat_retention_days"] == 30
    conv = await group(client, world, admin, "member")
    await say(client, admin, conv["id"], "old news", "o1")
    clock.travel(31 * 86400)
    (admin,) = await heads(client, world, "admin")
    await say(client, admin, conv["id"], "fresh", "f1")
    report = await retention.run()
    assert report.messages_deleted == 1
    (member,) = await heads(client, world, "member")  # a month later: a new session
    history = (
        await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=member)
    ).json()
    assert [m["body"] for m in history["items"]] == ["fresh"]
    event = await AuditEvent.select().where(AuditEvent.action == "chat.retention_applied").first()
    assert event is not None and event["org"] == world.acme.id
    # Null keeps messages for ever.
    (admin,) = await heads(client, world, "admin")
    r = await client.patch("/api/v1/org", json={"chat_retention_days": None}, headers=admin)
    assert r.json()["chat_retention_days"] is None
    clock.travel(400 * 86400)
    assert (await retention.run()).messages_deleted == 0
    assert await Message.count() == 1


async def test_the_cli_applies_retention(client, world: World):
    admin, _ = await heads(client, world, "admin", "member")
    conv = await group(client, world, admin, "member")
    await say(client, admin, conv["id"], "x", "x1")
    await Org.update({Org.chat_retention_days: 1}).where(Org.id == world.acme.id)
    await Message.update({Message.created_at: clock.utcnow().replace(year=2020)}).where(
        Message.org == world.acme.id
    )
    result = staffroom("retention", "run")
    assert result.returncode == 0, result.stderr
    assert "1 chat messages" in result.stderr
    assert await Message.count() == 0
