"""Retention of news posts and audit events per org; the audit chain still verifies."""

from __future__ import annotations

from staffroom.accounts.tables import Org
from staffroom.compliance.service import retention
from staffroom.core import audit, clock
from staffroom.core.tables import AuditEvent
from staffroom.feeds.tables import Post
from tests.support.world import World, assert_problem, bearer, login


async def test_old_posts_and_audit_events_go_and_the_chain_still_verifies(client, rt, world: World):
    admin = await bearer(client, world.acme, "admin")
    assert_problem(
        await client.patch("/api/v1/org", json={"audit_retention_days": 7}, headers=admin), 400
    )
    r = await client.patch(
        "/api/v1/org", json={"post_retention_days": 30, "audit_retention_days": 90}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["post_retention_days"] == 30 and r.json()["audit_retention_days"] == 90
    channel = (await client.post("/api/v1/channels", json={"name": "News"}, headers=admin)).json()
    editor = await bearer(client, world.acme, "editor")
    await client.post(
        f"/api/v1/channels/{channel['id']}/posts",
        json={"title": "Old", "body": "x"},
        headers=editor,
    )
    old_events = await AuditEvent.count().where(AuditEvent.org == world.acme.id)
    clock.travel(100 * 86400)
    editor = await bearer(client, world.acme, "editor")
    await client.post(
        f"/api/v1/channels/{channel['id']}/posts",
        json={"title": "New", "body": "x"},
        headers=editor,
    )
    globex_before = await AuditEvent.count().where(AuditEvent.org == world.globex.id)
    report = await retention.run(rt)
    assert report.posts_deleted == 1 and report.audit_events_deleted == old_events
    assert [p["title"] for p in await Post.select(Post.title)] == ["New"]
    assert await AuditEvent.count().where(AuditEvent.org == world.globex.id) == globex_before
    verified = await audit.verify()
    assert verified.breaks == []
    # New events chain on after the trimmed ones.
    await login(client, "acme", "member@acme.example")
    assert (await audit.verify()).breaks == []
    # Deleting an event after the base is still caught.
    newest = await (
        AuditEvent.select()
        .where(AuditEvent.org == world.acme.id)
        .order_by(AuditEvent.chain_seq)
        .first()
    )
    await AuditEvent.delete().where(AuditEvent.id == newest["id"])
    assert {b.problem for b in (await audit.verify()).breaks} == {"missing"}


async def test_orgs_without_settings_keep_everything(client, rt, world: World):
    await Org.update({Org.post_retention_days: None}).where(Org.id == world.acme.id)
    before = await AuditEvent.count()
    clock.travel(4000 * 86400)
    report = await retention.run(rt)
    assert report.posts_deleted == 0 and report.audit_events_deleted == 0
    assert await AuditEvent.count() == before
