"""The console's test sign-in with an OpenID Connect IdP (as test_saml_console.py with
SAML's): a real sign-in at the tests' provider (PKCE, state, nonce, the code exchanged
and the ID token validated) whose callback signs nobody in, creates and links nobody, and
reports what a real sign-in would do and the mapped profile; also with an IdP not enabled
yet, and refused the same way a sign-in would be."""

from __future__ import annotations

from typing import Any

from staffroom.accounts.tables import AuthSession, GroupMember, User
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from staffroom.sso.oidc.tables import OidcLoginState
from staffroom.sso.tables import SsoCode, SsoIdentity
from tests.sso.conftest import admin, exchange
from tests.support import oidc_fixtures
from tests.support.oidc_browser import Started, add_oidc_idp, at_idp, callback, sign_in
from tests.support.oidc_op import OpenIdProvider
from tests.support.world import World, assert_problem, login

# The OIDC tests' fixtures (tests/support/oidc_fixtures.py), made this module's own so that
# its `settings` replaces tests/conftest.py's.
settings = oidc_fixtures.settings
provider = oidc_fixtures.provider
op = oidc_fixtures.op


async def _start_test(
    client: Any, idp_id: str, org: str = "acme"
) -> tuple[dict[str, Any], Started]:
    """The console's "Test sign-in": the test, and the binding cookie its answer set."""
    r = await client.post(f"/api/v1/sso/idps/{idp_id}/test", headers=await admin(client, org))
    assert r.status_code == 201, r.text
    set_cookie = r.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie, set_cookie
    assert f"Path=/sso/{org}/oidc/callback" in set_cookie, set_cookie
    test = dict(r.json())
    name, value = set_cookie.split(";", 1)[0].split("=", 1)
    return test, Started(test["redirect_url"], (name, value))


async def _result(client: Any, test_id: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/sso/tests/{test_id}", headers=await admin(client))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _run(client: Any, test: dict[str, Any], started: Started) -> None:
    """The admin signs in at the provider in the test's window; it lands on the test page."""
    r = await callback(client, await at_idp(started), started.cookie)
    assert r.headers["location"] == f"https://staffroom.test/admin/sso/test#test={test['test_id']}"


async def _counts() -> tuple[int, int, int, int, int]:
    return (
        await User.count(),
        await AuthSession.count(),
        await SsoCode.count(),
        await SsoIdentity.count(),
        await GroupMember.count(),
    )


async def test_a_test_sign_in_reports_the_mapped_profile_and_signs_nobody_in(
    client, world: World, op: OpenIdProvider
) -> None:
    h = await admin(client)
    group = (await client.post("/api/v1/groups", json={"name": "Engineering"}, headers=h)).json()
    rules = [{"value": "engineering", "effect": "map", "group_id": group["id"]}]
    idp = await add_oidc_idp(client, op, h, enabled=False, group_rules=rules)
    assert idp["enabled"] is False

    test, started = await _start_test(client, idp["id"])
    assert started.url.startswith(f"{op.issuer}/authorize?")
    assert "code_challenge_method=S256" in started.url
    assert (await _result(client, test["test_id"]))["status"] == "waiting"
    before = await _counts()
    await _run(client, test, started)
    # Nobody signed in or created, no identity linked, no group joined, no sign-in code.
    assert await _counts() == before
    assert not await User.exists().where(User.email == "ada@acme.example")
    result = await _result(client, test["test_id"])
    assert result["status"] == "done" and result["idp_id"] == idp["id"]
    attempt = result["attempt"]
    assert (attempt["outcome"], attempt["reason"], attempt["test_id"]) == (
        "success",
        "would_create_account",
        test["test_id"],
    )
    assert attempt["name_id"] == "00u-ada-4711" and attempt["user_id"] is None
    # The mapped profile and the group rules' result, from the attempt's claims.
    r = await client.post(
        f"/api/v1/sso/idps/{idp['id']}/preview", json={"attempt_id": attempt["id"]}, headers=h
    )
    assert r.status_code == 200, r.text
    preview = r.json()
    fields = {f["field"]: (f["attribute"], f["values"]) for f in preview["fields"]}
    assert fields["email"] == ("email", ["ada@acme.example"])
    assert fields["display_name"] == ("name", ["Ada Lovelace"])
    assert fields["groups"] == ("groups", ["staff", "engineering"])
    assert (preview["outcome"], preview["group_ids"]) == ("allowed", [group["id"]])
    event = await AuditEvent.select().where(AuditEvent.action == "sso.test").first()
    assert event["actor_id"] == world.acme["admin"].id and event["outcome"] == "success"
    # The test's state is used up, and the IdP is still off for everyone else.
    assert (await OidcLoginState.select().first())["used_at"] is not None
    assert (await client.get("/sso/acme/saml/login")).status_code == 404

    # Once on, Ada signs in for real; a new test says she would be signed in.
    await client.patch(f"/api/v1/sso/idps/{idp['id']}", json={"enabled": True}, headers=h)
    assert (await exchange(client, await sign_in(client, idp=idp["id"]))).status_code == 200
    ada = await User.select(User.id).where(User.email == "ada@acme.example").first()
    # (The admin's own sign-ins to the API make sessions: count Ada's.)
    sessions = await AuthSession.count().where(AuthSession.user == ada["id"])
    again, started = await _start_test(client, idp["id"])
    await _run(client, again, started)
    attempt = (await _result(client, again["test_id"]))["attempt"]
    assert (attempt["reason"], attempt["user_id"]) == ("would_sign_in", str(ada["id"]))
    assert await AuthSession.count().where(AuthSession.user == ada["id"]) == sessions


async def test_a_failed_test_sign_in_shows_the_sign_ins_reason(
    client, world: World, op: OpenIdProvider
) -> None:
    idp = await add_oidc_idp(client, op, await admin(client))
    users = await User.count()
    # An email the IdP does not vouch for: a sign-in would make no account by it.
    op.user["email_verified"] = False
    test, started = await _start_test(client, idp["id"])
    await _run(client, test, started)
    attempt = (await _result(client, test["test_id"]))["attempt"]
    assert (attempt["outcome"], attempt["reason"], attempt["test_id"]) == (
        "failure",
        "email_unverified",
        test["test_id"],
    )
    # A token for another client: refused at validation, the test shows it too.
    op.user["email_verified"] = True
    op.bend.id_token = op.id_token("someone-else", "whatever")
    test, started = await _start_test(client, idp["id"])
    await _run(client, test, started)
    attempt = (await _result(client, test["test_id"]))["attempt"]
    assert (attempt["outcome"], attempt["reason"]) == ("failure", "audience")
    assert await User.count() == users and await SsoIdentity.count() == 0
    # A test never answered expires with its state (10 minutes).
    lost, _ = await _start_test(client, idp["id"])
    clock.travel(12 * 60)
    assert (await _result(client, lost["test_id"]))["status"] == "expired"


async def test_oidc_tests_belong_to_their_org_and_need_sso_manage(
    client, world: World, op: OpenIdProvider
) -> None:
    idp = await add_oidc_idp(client, op, await admin(client))
    test, _ = await _start_test(client, idp["id"])
    globex = await admin(client, "globex")
    r = await client.get(f"/api/v1/sso/tests/{test['test_id']}", headers=globex)
    assert_problem(r, 404, "sso_test_not_found")
    r = await client.post(f"/api/v1/sso/idps/{idp['id']}/test", headers=globex)
    assert_problem(r, 404, "idp_not_found")
    member = await login(client, "acme", "member@acme.example")
    bearer = {"Authorization": f"Bearer {member['access_token']}"}
    states = await OidcLoginState.count()
    r = await client.post(f"/api/v1/sso/idps/{idp['id']}/test", headers=bearer)
    assert_problem(r, 403, "missing_permission")
    assert await OidcLoginState.count() == states
