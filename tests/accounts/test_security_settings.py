"""The security settings' API: who has not set up 2FA, the org's own (shorter) session
lifetimes applying to sessions already running, the people list filtered by 2FA, and the
audit chain's verification for holders of audit.read."""

from __future__ import annotations

from staffroom.accounts.tables import Org
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from tests.support.flows import auth, enrol_totp
from tests.support.world import World, assert_problem, bearer, login


async def _refresh(client, token: str):
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_the_count_of_people_without_2fa(client, world: World) -> None:
    admin = await bearer(client, world.acme, "admin")
    r = await client.get("/api/v1/org/security", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    people = len(world.acme.people)
    assert body["mfa"] == {"active": people, "enrolled": 0, "not_enrolled": people}
    assert body["server_sessions"] == {
        "access_minutes": 15,
        "idle_hours": 336,
        "absolute_hours": 720,
    }

    await enrol_totp(client, auth(await login(client, "acme", "member@acme.example")))
    await client.post(f"/api/v1/users/{world.acme['editor'].id}/deactivate", headers=admin)
    body = (await client.get("/api/v1/org/security", headers=admin)).json()
    assert body["mfa"] == {"active": people - 1, "enrolled": 1, "not_enrolled": people - 2}
    # Another org's people are not counted.
    globex = await bearer(client, world.globex, "admin")
    assert (await client.get("/api/v1/org/security", headers=globex)).json()["mfa"]["enrolled"] == 0

    without = await client.get("/api/v1/users", params={"mfa": "false"}, headers=admin)
    names = {u["email"] or u["username"] for u in without.json()["items"]}
    assert "member@acme.example" not in names and "admin@acme.example" in names
    with_2fa = await client.get("/api/v1/users", params={"mfa": "true"}, headers=admin)
    assert [u["email"] for u in with_2fa.json()["items"]] == ["member@acme.example"]

    hr = await bearer(client, world.acme, "hr_admin")  # no org.manage
    assert_problem(await client.get("/api/v1/org/security", headers=hr), 403, "missing_permission")


async def test_a_shorter_idle_lifetime_ends_running_sessions(client, world: World) -> None:
    member = await login(client, "acme", "member@acme.example")
    admin = await bearer(client, world.acme, "admin")
    r = await client.patch("/api/v1/org", json={"session_idle_hours": 2}, headers=admin)
    assert r.status_code == 200 and r.json()["session_idle_hours"] == 2
    clock.travel(3600)
    used = await _refresh(client, member["refresh_token"])
    assert used.status_code == 200  # an hour without a request: within the limit
    clock.travel(2 * 3600 + 60)  # then two hours without one: over it
    assert_problem(
        await _refresh(client, used.json()["refresh_token"]), 401, "invalid_refresh_token"
    )
    # The server's own idle lifetime (14 days) would have allowed it.
    admin = await bearer(client, world.acme, "admin")
    await client.patch("/api/v1/org", json={"session_idle_hours": None}, headers=admin)
    again = await login(client, "acme", "member@acme.example")
    clock.travel(3 * 3600)
    assert (await _refresh(client, again["refresh_token"])).status_code == 200


async def test_a_shorter_absolute_lifetime_ends_even_active_sessions(client, world: World) -> None:
    member = await login(client, "acme", "member@acme.example")
    clock.travel(5 * 3600)
    fresh = await _refresh(client, member["refresh_token"])
    assert fresh.status_code == 200
    admin = await bearer(client, world.acme, "admin")
    # Shortening the lifetime applies at once to a session started five hours ago.
    r = await client.patch("/api/v1/org", json={"session_absolute_hours": 4}, headers=admin)
    assert r.json()["session_absolute_hours"] == 4
    assert_problem(await client.get("/api/v1/me", headers=auth(fresh.json())), 401)
    listed = await client.get(f"/api/v1/users/{world.acme['member'].id}/sessions", headers=admin)
    assert listed.json()["items"] == []
    # The admin's own session started now: it goes on; the other org is untouched.
    assert (await client.get("/api/v1/me", headers=admin)).status_code == 200
    assert (await Org.select(Org.session_absolute_hours).where(Org.id == world.globex.id))[0][
        "session_absolute_hours"
    ] is None
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "org.settings_changed")
        .output(load_json=True)
        .first()
    )
    assert event["details"] == {"session_absolute_hours": 4}


async def test_session_lifetimes_are_bounded(client, world: World) -> None:
    admin = await bearer(client, world.acme, "admin")
    for bad in (0, -1, 8761, True):
        r = await client.patch("/api/v1/org", json={"session_idle_hours": bad}, headers=admin)
        assert r.status_code == 400, (bad, r.text)
    org = await Org.select().where(Org.id == world.acme.id).first()
    assert org["session_idle_hours"] is None
    member = await bearer(client, world.acme, "member")
    r = await client.patch("/api/v1/org", json={"session_idle_hours": 1}, headers=member)
    assert_problem(r, 403, "missing_permission")


async def test_audit_verification_of_the_callers_chain(client, world: World) -> None:
    for who in ("member", "editor"):
        await login(client, "acme", f"{who}@acme.example")
    await login(client, "globex", "member@globex.example")
    auditor = await bearer(client, world.acme, "hr_admin")  # audit.read
    r = await client.get("/api/v1/audit-events/verification", headers=auditor)
    assert r.status_code == 200, r.text
    body = r.json()
    acme_events = await AuditEvent.count().where(AuditEvent.org == world.acme.id)
    assert body["verified"] is True and body["breaks"] == []
    assert body["events"] == acme_events >= 3

    # An edited event of another org is not this org's problem ...
    theirs = await AuditEvent.select().where(AuditEvent.org == world.globex.id).first()
    await AuditEvent.update({AuditEvent.outcome: "failure"}).where(AuditEvent.id == theirs["id"])
    r = await client.get("/api/v1/audit-events/verification", headers=auditor)
    assert r.json()["verified"] is True
    # ... an edited event of its own is.
    ours = await AuditEvent.select().where(AuditEvent.org == world.acme.id).first()
    await AuditEvent.update({AuditEvent.request_id: "forged"}).where(AuditEvent.id == ours["id"])
    body = (await client.get("/api/v1/audit-events/verification", headers=auditor)).json()
    assert body["verified"] is False
    assert body["breaks"] == [
        {"chain_seq": ours["chain_seq"], "event_id": str(ours["id"]), "problem": "edited"}
    ]
    member = await bearer(client, world.acme, "member")
    r = await client.get("/api/v1/audit-events/verification", headers=member)
    assert_problem(r, 403, "missing_permission")


async def test_requiring_2fa_restricts_running_sessions_and_refresh_says_so(
    client, world: World
) -> None:
    member = await login(client, "acme", "member@acme.example")
    admin = await bearer(client, world.acme, "admin")
    r = await client.patch("/api/v1/org", json={"require_mfa": True}, headers=admin)
    assert r.json()["require_mfa"] is True
    assert_problem(
        await client.get("/api/v1/feed", headers=auth(member)), 403, "mfa_enrolment_required"
    )
    refreshed = await _refresh(client, member["refresh_token"])
    assert refreshed.status_code == 200 and refreshed.json()["scope"] == "enrol"
    me = await client.get("/api/v1/me", headers=auth(refreshed.json()))
    assert me.json()["session_scope"] == "enrol"
