"""T14 (auth events): the audit trail and its API."""

from __future__ import annotations

from staffroom.core.tables import AuditEvent
from tests.support.flows import auth, code_now, enrol_totp
from tests.support.world import PASSWORD, World, assert_problem, login


async def _events(action: str) -> list[dict]:
    return await AuditEvent.select().where(AuditEvent.action == action).output(load_json=True)


async def test_login_success_and_failure_carry_who_what_where(client, world: World) -> None:
    headers = {"User-Agent": "StaffroomApp/1.0", "X-Request-ID": "req-login-0001"}
    await client.post(
        "/api/v1/auth/login",
        headers=headers,
        json={"org": "acme", "login": "member@acme.example", "password": "Wrong-Pass-000"},
    )
    await login(client, "acme", "member@acme.example", headers=headers)
    failure, success = sorted(await _events("auth.login"), key=lambda e: e["outcome"])
    for event in (failure, success):
        assert event["org"] == world.acme.id
        assert event["ip"] == "203.0.113.10"
        assert event["user_agent"] == "StaffroomApp/1.0"
        assert event["request_id"] == "req-login-0001"
        assert event["target_id"] == str(world.acme["member"].id)
        assert event["created_at"].tzinfo is not None
    assert failure["outcome"] == "failure" and failure["details"] == {"reason": "bad_password"}
    assert success["outcome"] == "success" and success["actor_id"] == world.acme["member"].id


async def test_security_events_are_all_recorded(client, world: World) -> None:
    member = world.acme["member"]
    h = auth(await login(client, "acme", member.login))
    await enrol_totp(client, h)
    await client.post(
        "/api/v1/me/password",
        headers=h,
        json={"current_password": PASSWORD, "new_password": "Silver-Canyon-Lamp-5"},
    )
    admin = auth(await login(client, "acme", "admin@acme.example"))
    await client.patch(f"/api/v1/users/{member.id}", json={"role": "editor"}, headers=admin)
    await client.post(f"/api/v1/users/{member.id}/deactivate", headers=admin)
    await client.post("/api/v1/auth/logout", headers=admin)
    expected = {
        "mfa.enrol",
        "auth.password_change",
        "user.role_changed",
        "user.deactivated",
        "auth.logout",
        "auth.login",
        "org.created",
    }
    actions = {e["action"] for e in await AuditEvent.select(AuditEvent.action)}
    assert expected <= actions
    role = (await _events("user.role_changed"))[0]
    assert role["details"] == {"from": "member", "to": "editor"}
    assert role["actor_id"] == world.acme["admin"].id


async def test_no_secret_ever_reaches_the_audit_trail(client, world: World) -> None:
    member = world.acme["member"]
    body = await login(client, "acme", member.login)
    secret, codes = await enrol_totp(client, auth(body))
    r = await client.post(
        "/api/v1/auth/login", json={"org": "acme", "login": member.login, "password": PASSWORD}
    )
    mfa_token = r.json()["mfa_token"]
    code = code_now(secret)
    await client.post("/api/v1/auth/mfa", json={"mfa_token": mfa_token, "code": code})
    dump = str(await AuditEvent.select())
    for secret_value in [
        PASSWORD,
        body["access_token"],
        body["refresh_token"],
        secret,
        mfa_token,
        *codes,
    ]:
        assert secret_value not in dump


async def test_audit_api_needs_audit_read_and_shows_only_own_org(client, world: World) -> None:
    await login(client, "globex", "member@globex.example")
    member = auth(await login(client, "acme", "member@acme.example"))
    assert_problem(
        await client.get("/api/v1/audit-events", headers=member), 403, "missing_permission"
    )
    admin = auth(await login(client, "acme", "admin@acme.example"))
    r = await client.get("/api/v1/audit-events", params={"action": "auth.login"}, headers=admin)
    items = r.json()["items"]
    assert items and all(i["action"] == "auth.login" for i in items)
    globex_ids = {str(p.id) for p in world.globex.people.values()}
    assert not any(i["target_id"] in globex_ids for i in items)


async def test_audit_api_pages_with_a_cursor(client, world: World) -> None:
    admin = auth(await login(client, "acme", "admin@acme.example"))
    for _ in range(4):
        await login(client, "acme", "member@acme.example")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "action": "auth."} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/audit-events", params=params, headers=admin)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert_problem(
        await client.get("/api/v1/audit-events", params={"cursor": "%%%"}, headers=admin),
        422,
        "invalid_cursor",
    )
