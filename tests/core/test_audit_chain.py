"""T14 (integrity): each org's audit events form a MAC chain; `staffroom audit verify`
finds an edited, inserted or deleted event; exports stream JSON Lines for a SIEM."""

from __future__ import annotations

import asyncio
import json
import uuid

from staffroom.core import audit
from staffroom.core.tables import AuditChain, AuditEvent
from tests.cli.test_cli import staffroom
from tests.support.world import World, assert_problem, bearer, login


async def _some_events(client, world: World) -> None:
    for who in ("member", "editor", "admin"):
        await login(client, "acme", f"{who}@acme.example")
    await login(client, "globex", "member@globex.example")


async def test_the_chain_holds_and_concurrent_events_stay_in_one_line(client, world: World):
    await asyncio.gather(
        *(
            audit.record("test.concurrent", org_id=world.acme.id, details={"n": n})
            for n in range(20)
        )
    )
    await _some_events(client, world)
    report = await audit.verify()
    assert report.breaks == []
    assert report.events == await AuditEvent.count()
    acme = await AuditEvent.select(AuditEvent.chain_seq).where(AuditEvent.org == world.acme.id)
    assert sorted(r["chain_seq"] for r in acme) == list(range(1, len(acme) + 1))


async def test_verify_finds_an_edited_event(client, world: World):
    await _some_events(client, world)
    victim = await AuditEvent.select().where(AuditEvent.org == world.acme.id).first()
    await AuditEvent.update({AuditEvent.outcome: "failure"}).where(AuditEvent.id == victim["id"])
    report = await audit.verify()
    assert [(b.problem, b.event_id) for b in report.breaks] == [("edited", str(victim["id"]))]
    result = staffroom("audit", "verify")
    assert result.returncode == 1 and "edited" in result.stderr


async def test_verify_finds_a_deleted_event_and_a_cut_tail(client, world: World):
    await _some_events(client, world)
    rows = await (
        AuditEvent.select().where(AuditEvent.org == world.acme.id).order_by(AuditEvent.chain_seq)
    )
    assert len(rows) >= 4
    await AuditEvent.delete().where(AuditEvent.id == rows[1]["id"])
    assert {b.problem for b in (await audit.verify()).breaks} == {"missing"}
    await AuditEvent.delete().where(AuditEvent.id == rows[-1]["id"])
    problems = {b.problem for b in (await audit.verify()).breaks}
    assert problems == {"missing", "head_mismatch"}


async def test_a_forged_event_cannot_be_slipped_in(client, world: World):
    await _some_events(client, world)
    last = await (
        AuditEvent.select()
        .where(AuditEvent.org == world.acme.id)
        .order_by(AuditEvent.chain_seq, ascending=False)
        .first()
        .output(load_json=True)
    )
    forged = dict(last, id=uuid.uuid4(), chain_seq=last["chain_seq"] + 1, prev_hash=last["hash"])
    # Whoever writes to the database without the key file cannot make a valid MAC.
    forged["hash"] = "0" * 64
    await AuditEvent.insert(AuditEvent(**forged))
    await AuditChain.update({AuditChain.last_seq: forged["chain_seq"]}).where(
        AuditChain.chain == str(world.acme.id)
    )
    problems = {b.problem for b in (await audit.verify()).breaks}
    assert "edited" in problems
    assert staffroom("audit", "verify").returncode == 1


async def test_export_streams_json_lines_of_the_callers_org(client, world: World):
    await _some_events(client, world)
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    assert_problem(await client.get("/api/v1/audit-events/export", headers=member), 403)
    r = await client.get("/api/v1/audit-events/export", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines and all(e["org"] == str(world.acme.id) for e in lines)
    assert all(e["hash"] and "chain_seq" in e for e in lines)
    later = await client.get(
        "/api/v1/audit-events/export", params={"since": "2999-01-01T00:00:00Z"}, headers=admin
    )
    assert later.text == ""
    assert_problem(
        await client.get(
            "/api/v1/audit-events/export", params={"since": "yesterday"}, headers=admin
        ),
        400,
    )
    # The export itself is an audit event.
    assert await AuditEvent.count().where(AuditEvent.action == "audit.exported") == 2
    cli = staffroom("audit", "export", "--org", "globex")
    assert cli.returncode == 0, cli.stderr
    exported = [json.loads(line) for line in cli.stdout.splitlines()]
    assert exported and {e["org"] for e in exported} == {str(world.globex.id)}
    assert staffroom("audit", "export", "--org", "nope").returncode == 2
