"""What the console's SSO wizard needs from the API: a test sign-in that is a real
SP-initiated login but signs nobody in (also with an IdP not enabled yet), its outcome for
the console, and the mapping preview against the attributes an attempt received."""

from __future__ import annotations

from typing import Any

from staffroom.accounts.tables import AuthSession, User
from staffroom.core.tables import AuditEvent
from staffroom.sso.tables import IdentityProvider, SamlLoginState, SsoCode
from tests.sso.conftest import admin, browser_login, configure, exchange, post_acs
from tests.support.idp import GROUPS, TestIdp
from tests.support.world import World, assert_problem, login


async def _start_test(client, idp_id: str, org: str = "acme") -> dict[str, Any]:
    r = await client.post(f"/api/v1/sso/idps/{idp_id}/test", headers=await admin(client, org))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _result(client, test_id: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/sso/tests/{test_id}", headers=await admin(client))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _answer(client, idp: TestIdp, test: dict[str, Any], **respond: Any):
    request_id, relay = idp.read_request(test["redirect_url"])
    return await post_acs(client, idp.respond(request_id, **respond), relay)


async def _state() -> tuple[int, int, int]:
    return await User.count(), await AuthSession.count(), await SsoCode.count()


async def test_a_test_sign_in_with_a_disabled_idp_checks_everything_and_signs_nobody_in(
    client, world: World, idp: TestIdp
) -> None:
    h = await admin(client)
    r = await client.post(
        "/api/v1/sso/idps/metadata",
        params={"name": "Entra", "preset": "entra", "enabled": "false"},
        content=idp.metadata(),
        headers=h,
    )
    assert r.status_code == 201, r.text
    row = r.json()
    assert row["enabled"] is False
    assert row["sp_slo_url"] == "https://staffroom.test/sso/acme/saml/sls"
    await client.patch(f"/api/v1/sso/idps/{row['id']}", json={"jit": True}, headers=h)
    # Nobody can use it to sign in yet.
    r = await client.get("/sso/acme/saml/login")
    assert_problem(r, 404, "sso_not_configured")

    test = await _start_test(client, row["id"])
    assert test["redirect_url"].startswith("https://entra.idp.test/sso?SAMLRequest=")
    assert (await _result(client, test["test_id"]))["status"] == "waiting"
    before = await _state()
    r = await _answer(client, idp, test)
    assert r.status_code == 303
    assert r.headers["location"] == f"https://staffroom.test/admin/sso/test#test={test['test_id']}"
    assert "code=" not in r.headers["location"]
    assert await _state() == before  # no account made, no session, no sign-in code
    result = await _result(client, test["test_id"])
    assert result["status"] == "done" and result["idp_id"] == row["id"]
    attempt = result["attempt"]
    assert (attempt["outcome"], attempt["reason"], attempt["test_id"]) == (
        "success",
        "would_create_account",
        test["test_id"],
    )
    assert attempt["name_id"] == "jane-1" and attempt["user_id"] is None
    # The doctor lists it with the IdP's attempts; the audit trail names the admin.
    r = await client.get(f"/api/v1/sso/idps/{row['id']}/attempts", headers=h)
    assert [a["test_id"] for a in r.json()["items"]] == [test["test_id"]]
    event = await AuditEvent.select().where(AuditEvent.action == "sso.test").first()
    assert event["actor_id"] == world.acme["admin"].id and event["outcome"] == "success"
    # The test is used up: another answer to it is refused (and shown as such).
    r = await _answer(client, idp, test)
    assert (await _result(client, test["test_id"]))["attempt"]["reason"] == "state_used"

    # Once enabled, Jane signs in for real; a new test then says she would be signed in.
    await client.patch(f"/api/v1/sso/idps/{row['id']}", json={"enabled": True}, headers=h)
    assert (await exchange(client, await browser_login(client, idp))).status_code == 200
    jane = await User.select(User.id).where(User.email == "jane@acme.example").first()
    again = await _start_test(client, row["id"])
    await _answer(client, idp, again)
    attempt = (await _result(client, again["test_id"]))["attempt"]
    assert (attempt["reason"], attempt["user_id"]) == ("would_sign_in", str(jane["id"]))


async def test_a_failed_test_sign_in_shows_its_reason_in_the_console(
    client, world: World, idp: TestIdp
) -> None:
    row = await configure(client, idp)  # no JIT: nobody is linked yet
    test = await _start_test(client, row["id"])
    r = await _answer(client, idp, test)
    assert r.headers["location"].endswith(f"/admin/sso/test#test={test['test_id']}")
    attempt = (await _result(client, test["test_id"]))["attempt"]
    assert (attempt["outcome"], attempt["reason"]) == ("failure", "unknown_user")

    # The IdP's clock ten minutes ahead: refused for clock skew, with the seconds.
    idp.clock_ahead = 600
    try:
        skewed = await _start_test(client, row["id"])
        await _answer(client, idp, skewed)
    finally:
        idp.clock_ahead = 0
    attempt = (await _result(client, skewed["test_id"]))["attempt"]
    assert (attempt["outcome"], attempt["reason"], attempt["signed"]) == (
        "failure",
        "clock_skew",
        True,
    )
    assert 590 <= attempt["skew_seconds"] <= 610
    # A test that is never answered expires after the state's 15 minutes.
    from staffroom.core import clock

    lost = await _start_test(client, row["id"])
    clock.travel(17 * 60)
    assert (await _result(client, lost["test_id"]))["status"] == "expired"


async def test_tests_belong_to_their_org_and_need_sso_manage(
    client, world: World, idp: TestIdp
) -> None:
    row = await configure(client, idp)
    test = await _start_test(client, row["id"])
    globex = await admin(client, "globex")
    r = await client.get(f"/api/v1/sso/tests/{test['test_id']}", headers=globex)
    assert_problem(r, 404, "sso_test_not_found")
    r = await client.post(f"/api/v1/sso/idps/{row['id']}/test", headers=globex)
    assert_problem(r, 404, "idp_not_found")
    member = await login(client, "acme", "member@acme.example")
    bearer = {"Authorization": f"Bearer {member['access_token']}"}
    states = await SamlLoginState.count()
    r = await client.post(f"/api/v1/sso/idps/{row['id']}/test", headers=bearer)
    assert_problem(r, 403, "missing_permission")
    assert await SamlLoginState.count() == states
    r = await client.get(f"/api/v1/sso/tests/{test['test_id']}", headers=bearer)
    assert_problem(r, 403, "missing_permission")


async def test_the_preview_tries_unsaved_mapping_and_rules_on_the_last_attributes(
    client, world: World, idp: TestIdp
) -> None:
    h = await admin(client)
    row = await configure(client, idp, jit=True)
    url = f"/api/v1/sso/idps/{row['id']}/preview"
    r = await client.post(url, json={}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "no_attempt" and r.json()["attempt"] is None
    assert r.json()["fields"][0]["looked_for"][0].endswith("/emailaddress")

    group = (await client.post("/api/v1/groups", json={"name": "Nurses"}, headers=h)).json()
    await browser_login(client, idp, groups=("ward-nurses",), extra={"staffNumber": ["E-7"]})
    r = await client.post(url, json={}, headers=h)
    body = r.json()
    assert body["outcome"] == "allowed" and body["attempt"]["outcome"] == "success"
    fields = {f["field"]: f for f in body["fields"]}
    assert fields["email"]["values"] == ["jane@acme.example"]
    assert fields["groups"]["attribute"] == GROUPS
    assert fields["employee_id"]["attribute"] is None  # not among Entra's names

    mapped = {
        "attribute_map": {"employee_id": ["staffNumber"]},
        "group_rules": [
            {"value": "ward-nurses", "effect": "map", "group_id": group["id"], "role": "editor"}
        ],
    }
    body = (await client.post(url, json=mapped, headers=h)).json()
    fields = {f["field"]: f for f in body["fields"]}
    assert (fields["employee_id"]["attribute"], fields["employee_id"]["values"]) == (
        "staffNumber",
        ["E-7"],
    )
    assert (body["outcome"], body["group_ids"], body["role"]) == (
        "allowed",
        [group["id"]],
        "editor",
    )
    deny = {"group_rules": [{"value": "ward-nurses", "effect": "deny"}]}
    body = (await client.post(url, json=deny, headers=h)).json()
    assert (body["outcome"], body["reason"]) == ("denied", "denied_by_rule")
    allow = {"group_rules": [{"value": "pharmacy", "effect": "allow"}]}
    body = (await client.post(url, json=allow, headers=h)).json()
    assert (body["outcome"], body["reason"]) == ("denied", "not_allowed_by_rule")
    # Nothing was saved.
    saved = await IdentityProvider.select().where(IdentityProvider.id == row["id"]).first()
    assert saved["group_rules"] in ([], "[]")
    r = await client.post(
        url, json={"attempt_id": "00000000-0000-4000-8000-000000000000"}, headers=h
    )
    assert_problem(r, 404, "attempt_not_found")
    r = await client.post(url, json={"attribute_map": {"email": "x"}}, headers=h)
    assert_problem(r, 400)
