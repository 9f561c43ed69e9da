"""T5 (admin side): an admin sees how a person signs in, lists their sessions and ends
one or all of them; each is audited, within the org and the caller's powers, and never
for an integration's key."""

from __future__ import annotations

from staffroom.accounts.tables import AuthSession
from staffroom.core.tables import AuditEvent
from tests.support.flows import auth, enrol_totp
from tests.support.world import World, assert_problem, bearer, login


async def _sessions(client, admin, user_id) -> list[dict]:
    r = await client.get(f"/api/v1/users/{user_id}/sessions", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_admin_lists_and_revokes_one_session_of_a_person(client, world: World) -> None:
    member = world.acme["member"]
    phone = await login(client, "acme", member.login, headers={"User-Agent": "Phone/1"})
    laptop = await login(client, "acme", member.login, headers={"User-Agent": "Laptop/2"})
    admin = await bearer(client, world.acme, "admin")
    listed = await _sessions(client, admin, member.id)
    assert [s["user_agent"] for s in listed] == ["Laptop/2", "Phone/1"]
    assert not any(s["current"] for s in listed)
    phone_id = listed[1]["id"]

    r = await client.delete(f"/api/v1/users/{member.id}/sessions/{phone_id}", headers=admin)
    assert r.status_code == 204
    assert_problem(await client.get("/api/v1/me", headers=auth(phone)), 401, "invalid_token")
    assert (await client.get("/api/v1/me", headers=auth(laptop))).status_code == 200
    assert [s["user_agent"] for s in await _sessions(client, admin, member.id)] == ["Laptop/2"]
    # Once ended, it is no longer there to end.
    r = await client.delete(f"/api/v1/users/{member.id}/sessions/{phone_id}", headers=admin)
    assert_problem(r, 404, "session_not_found")
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "session.revoked_by_admin")
        .output(load_json=True)
        .first()
    )
    assert event["actor_id"] == world.acme["admin"].id
    assert event["target_id"] == phone_id and event["details"] == {"user_id": str(member.id)}
    row = await AuthSession.select().where(AuthSession.id == phone_id).first()
    assert row["revoke_reason"] == "admin_revoked"


async def test_a_session_under_another_persons_path_is_not_found(client, world: World) -> None:
    editor = await login(client, "acme", world.acme["editor"].login)
    admin = await bearer(client, world.acme, "admin")
    editor_session = (await _sessions(client, admin, world.acme["editor"].id))[0]["id"]
    member = world.acme["member"].id
    r = await client.delete(f"/api/v1/users/{member}/sessions/{editor_session}", headers=admin)
    assert_problem(r, 404, "session_not_found")
    assert (await client.get("/api/v1/me", headers=auth(editor))).status_code == 200


async def test_revoke_all_signs_a_person_out_everywhere(client, world: World) -> None:
    member = world.acme["member"]
    tokens = [await login(client, "acme", member.login) for _ in range(3)]
    admin = await bearer(client, world.acme, "admin")
    r = await client.delete(f"/api/v1/users/{member.id}/sessions", headers=admin)
    assert r.status_code == 200 and r.json() == {"revoked": 3}
    for body in tokens:
        assert_problem(await client.get("/api/v1/me", headers=auth(body)), 401)
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}
        )
        assert_problem(refreshed, 401, "invalid_refresh_token")
    assert await _sessions(client, admin, member.id) == []
    event = (
        await AuditEvent.select()
        .where(AuditEvent.action == "user.sessions_revoked")
        .output(load_json=True)
        .first()
    )
    assert event["target_id"] == str(member.id) and event["details"] == {"count": 3}


async def test_an_admin_ending_their_own_sessions_keeps_the_one_in_use(
    client, world: World
) -> None:
    other = await login(client, "acme", "admin@acme.example")
    admin = await bearer(client, world.acme, "admin")
    me = world.acme["admin"].id
    listed = await _sessions(client, admin, me)
    assert [s["current"] for s in listed] == [True, False]
    r = await client.delete(f"/api/v1/users/{me}/sessions", headers=admin)
    assert r.json() == {"revoked": 1}
    assert (await client.get("/api/v1/me", headers=admin)).status_code == 200
    assert_problem(await client.get("/api/v1/me", headers=auth(other)), 401)


async def test_only_owners_end_an_owners_sessions_and_members_none(client, world: World) -> None:
    owner = await login(client, "acme", world.acme["owner"].login)
    owner_id = world.acme["owner"].id
    hr = await bearer(client, world.acme, "hr_admin")
    assert len(await _sessions(client, hr, owner_id)) == 1  # seeing them is fine
    assert_problem(
        await client.delete(f"/api/v1/users/{owner_id}/sessions", headers=hr), 403, "owner_only"
    )
    session_id = (await _sessions(client, hr, owner_id))[0]["id"]
    r = await client.delete(f"/api/v1/users/{owner_id}/sessions/{session_id}", headers=hr)
    assert_problem(r, 403, "owner_only")
    assert (await client.get("/api/v1/me", headers=auth(owner))).status_code == 200
    member = await bearer(client, world.acme, "member")
    for method, path in (
        ("GET", f"/api/v1/users/{owner_id}/sessions"),
        ("DELETE", f"/api/v1/users/{owner_id}/sessions"),
        ("GET", f"/api/v1/users/{owner_id}/sign-in"),
    ):
        r = await client.request(method, path, headers=member)
        assert_problem(r, 403, "missing_permission")


async def test_an_api_key_never_reaches_a_persons_sessions(client, world: World) -> None:
    admin = await bearer(client, world.acme, "admin")
    made = await client.post(
        "/api/v1/api-keys", json={"name": "HRIS", "scopes": ["users:write"]}, headers=admin
    )
    key = {"Authorization": f"Bearer {made.json()['key']}"}
    member = world.acme["member"]
    member_session = await login(client, "acme", member.login)
    assert (await client.get(f"/api/v1/users/{member.id}", headers=key)).status_code == 200
    for method, path in (
        ("GET", f"/api/v1/users/{member.id}/sessions"),
        ("DELETE", f"/api/v1/users/{member.id}/sessions"),
        ("GET", f"/api/v1/users/{member.id}/sign-in"),
    ):
        assert_problem(await client.request(method, path, headers=key), 403, "api_key_scope")
    assert (await client.get("/api/v1/me", headers=auth(member_session))).status_code == 200


async def test_sign_in_methods_and_second_factor_state(client, world: World) -> None:
    admin = await bearer(client, world.acme, "admin")
    member = world.acme["member"]
    r = await client.get(f"/api/v1/users/{member.id}/sign-in", headers=admin)
    assert r.json() == {
        "email": "member@acme.example",
        "username": None,
        "password": True,
        "sso": [],
        "sso_break_glass": False,
        "mfa_enabled": False,
        "mfa_enabled_at": None,
        "mfa_locked_until": None,
        "recovery_codes_left": 0,
    }
    mine = auth(await login(client, "acme", member.login))
    _, codes = await enrol_totp(client, mine)
    body = (await client.get(f"/api/v1/users/{member.id}/sign-in", headers=admin)).json()
    assert body["mfa_enabled"] is True and body["mfa_enabled_at"] is not None
    assert body["recovery_codes_left"] == len(codes) == 10
    assert not any(secret in r.text for secret in codes)
    frontline = world.acme["frontline"]
    body = (await client.get(f"/api/v1/users/{frontline.id}/sign-in", headers=admin)).json()
    assert body["username"] == frontline.login and body["email"] is None
