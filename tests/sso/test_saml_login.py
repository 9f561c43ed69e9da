"""T10: SAML good paths against a real IdP (pysaml2): SP- and IdP-initiated, JIT, mapping,
no silent linking, several IdPs, certificate rollover, RelayState and `next`."""

from __future__ import annotations

from staffroom.accounts.tables import AuthSession, User
from staffroom.sso.saml import Rejected
from staffroom.sso.service import provisioning
from staffroom.sso.tables import SsoAttempt, SsoIdentity
from tests.sso.conftest import (
    admin,
    browser_login,
    configure,
    exchange,
    fragment,
    post_acs,
    start,
)
from tests.support.flows import auth
from tests.support.idp import GROUPS, MFA
from tests.support.world import World, assert_problem, login


async def test_sp_initiated_login_with_jit_creates_a_mapped_member(
    client, world: World, idp
) -> None:
    h = await admin(client)
    group = (await client.post("/api/v1/groups", json={"name": "HR team"}, headers=h)).json()
    await configure(
        client,
        idp,
        jit=True,
        default_role="guest",
        group_rules=[{"value": "hr", "effect": "map", "group_id": group["id"], "role": "member"}],
    )
    r = await browser_login(client, idp, groups=("staff", "hr"))
    location = r.headers["location"]
    assert location.startswith("https://staffroom.test/sso/callback#code=")
    assert "token" not in location
    r = await exchange(client, r)
    assert r.status_code == 200, r.text
    me = (await client.get("/api/v1/me", headers=auth(r.json()))).json()
    assert me["email"] == "jane@acme.example" and me["display_name"] == "Jane Doe"
    assert me["role"] == "member" and me["group_ids"] == [group["id"]]
    identity = await SsoIdentity.select().first()
    assert identity["name_id"] == "jane-1" and str(identity["user"]) == me["id"]
    attempt = await SsoAttempt.select().first()
    assert attempt["outcome"] == "success"


async def test_the_code_works_once_and_only_for_a_minute(client, world: World, idp) -> None:
    await configure(client, idp, jit=True)
    r = await browser_login(client, idp)
    code = fragment(r.headers["location"])["code"]
    first = await client.post("/api/v1/auth/sso/exchange", json={"code": code})
    assert first.status_code == 200
    again = await client.post("/api/v1/auth/sso/exchange", json={"code": code})
    assert_problem(again, 401, "invalid_code")
    assert (
        await AuthSession.count().where(
            AuthSession.user
            == (await User.select(User.id).where(User.email == "jane@acme.example").first())["id"]
        )
        == 1
    )


async def test_jit_off_refuses_unknown_people(client, world: World, idp) -> None:
    await configure(client, idp, jit=False)
    r = await browser_login(client, idp)
    assert r.headers["location"].endswith("/sso/error#reason=unknown_user")
    assert not await User.exists().where(User.email == "jane@acme.example")


async def test_a_jit_sign_in_that_fails_to_link_creates_no_account(
    client, world: World, idp, monkeypatch
) -> None:
    # The account is accounts' row, the link sso's: made in one transaction, or neither.
    async def link_lost(*_: object) -> None:
        raise Rejected("identity_linked_elsewhere", "This IdP identity belongs to another account.")

    monkeypatch.setattr(provisioning, "link", link_lost)
    await configure(client, idp, jit=True)
    r = await browser_login(client, idp)
    assert r.headers["location"].endswith("/sso/error#reason=identity_linked_elsewhere")
    assert not await User.exists().where(User.email == "jane@acme.example")
    assert await SsoIdentity.count() == 0


async def test_an_existing_password_account_is_not_silently_linked(
    client, world: World, idp
) -> None:
    idp_row = await configure(client, idp, jit=True)
    r = await browser_login(client, idp, name_id="m-1", email="member@acme.example")
    assert r.headers["location"].endswith("#reason=account_exists")
    assert await SsoIdentity.count() == 0
    # The member links it explicitly: password login, then the IdP.
    h = auth(await login(client, "acme", "member@acme.example"))
    r = await client.post(f"/api/v1/me/sso/link/{idp_row['id']}", headers=h)
    request_id, relay_state = idp.read_request(r.json()["redirect_url"])
    r = await post_acs(
        client, idp.respond(request_id, name_id="m-1", email="member@acme.example"), relay_state
    )
    me = (await client.get("/api/v1/me", headers=auth((await exchange(client, r)).json()))).json()
    assert me["id"] == str(world.acme["member"].id)
    # From now on the IdP login is that member.
    r = await exchange(client, await browser_login(client, idp, name_id="m-1"))
    assert (await client.get("/api/v1/me", headers=auth(r.json()))).json()["id"] == me["id"]


async def test_idp_initiated_login_only_when_enabled(client, world: World, idp) -> None:
    row = await configure(client, idp, jit=True)
    r = await post_acs(client, idp.respond(None), None)
    assert r.headers["location"].endswith("#reason=unsolicited")
    h = await admin(client)
    await client.patch(f"/api/v1/sso/idps/{row['id']}", json={"idp_initiated": True}, headers=h)
    r = await exchange(client, await post_acs(client, idp.respond(None), None))
    assert r.status_code == 200


async def test_several_idps_are_chosen_by_id_or_email_domain(
    client, world: World, idp, other_idp
) -> None:
    first = await configure(client, idp, jit=True, email_domains=["acme.example"])
    second = await configure(client, other_idp, jit=True, name="Contractors",
                             email_domains=["partner.example"])  # fmt: skip
    assert_problem(await client.get("/sso/acme/saml/login"), 422, "idp_choice_required")
    by_domain = await start(client, email="kim@partner.example")
    assert by_domain.startswith("https://okta.idp.test/sso")
    by_id = await start(client, idp=first["id"])
    assert by_id.startswith("https://entra.idp.test/sso")
    request_id, relay = other_idp.read_request(by_domain)
    r = await post_acs(
        client, other_idp.respond(request_id, name_id="k", email="kim@partner.example"), relay
    )
    assert (await exchange(client, r)).status_code == 200
    # A response from the first IdP cannot complete a login started at the second.
    location = await start(client, idp=second["id"])
    request_id, relay = other_idp.read_request(location)
    r = await post_acs(client, idp.respond(request_id), relay)
    assert r.headers["location"].endswith("#reason=issuer")


async def test_certificate_rollover_trusts_old_and_new_until_the_old_is_removed(
    client, world: World, idp, other_idp
) -> None:
    # The IdP starts signing with its next key (other_idp's key plays it).
    row = await configure(client, idp, jit=True)
    h = await admin(client)
    new_cert = other_idp.cert
    r = await client.patch(
        f"/api/v1/sso/idps/{row['id']}",
        json={"certificates": [idp.cert, new_cert]},
        headers=h,
    )
    assert len(r.json()["certificates"]) == 2
    assert (await exchange(client, await browser_login(client, idp))).status_code == 200
    await client.patch(
        f"/api/v1/sso/idps/{row['id']}", json={"certificates": [new_cert]}, headers=h
    )
    r = await browser_login(client, idp)
    assert r.headers["location"].endswith("#reason=signature")


async def test_next_is_a_relative_path_or_an_allow_listed_deep_link(
    client, world: World, idp
) -> None:
    await configure(client, idp, jit=True)
    for bad in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "https://staffroom.test.evil.example/",
        "javascript:alert(1)",
        "staffroom:evil",
        "/ok\r\nLocation: https://evil.example",
        "staffroom://feed#https://evil.example",
    ):
        r = await client.get("/sso/acme/saml/login", params={"next": bad})
        assert_problem(r, 422, "invalid_next")
    location = await start(client, next="staffroom://feed/42")
    request_id, relay_state = idp.read_request(location)
    assert len(relay_state) >= 43 and "feed" not in relay_state  # an opaque state id
    r = await post_acs(client, idp.respond(request_id), relay_state)
    assert r.headers["location"].startswith("staffroom://feed/42#code=")
    location = await start(client, next="/posts/7?x=1")
    request_id, relay_state = idp.read_request(location)
    r = await post_acs(client, idp.respond(request_id), relay_state)
    assert fragment(r.headers["location"])["next"] == "/posts/7?x=1"


async def test_mfa_policy_follows_the_authn_context(client, world: World, idp, other_idp) -> None:
    await configure(client, idp, jit=True, email_domains=["acme.example"])
    trusted = await configure(client, other_idp, jit=True, name="MFA IdP", enforces_mfa=True)
    owner = auth(await login(client, "acme", "owner@acme.example"))
    await client.patch("/api/v1/org", json={"require_mfa": True}, headers=owner)
    with_mfa = await browser_login(client, idp, authn_class=MFA)
    assert (await exchange(client, with_mfa)).json()["scope"] == "full"
    # Password only at the IdP: Staffroom's own second factor is owed first.
    assert (await exchange(client, await browser_login(client, idp))).json()["scope"] == "enrol"
    # An IdP marked as enforcing MFA satisfies the policy whatever the context says.
    location = await start(client, idp=trusted["id"])
    request_id, relay_state = other_idp.read_request(location)
    r = await post_acs(
        client, other_idp.respond(request_id, name_id="k-2", email="kim@acme.example"), relay_state
    )
    assert (await exchange(client, r)).json()["scope"] == "full"


async def test_requiring_sso_turns_password_login_off_except_break_glass(
    client, world: World, idp
) -> None:
    await configure(client, idp)
    owner = auth(await login(client, "acme", "owner@acme.example"))
    r = await client.put("/api/v1/sso/saml", json={"sso_required": True}, headers=owner)
    assert_problem(r, 422, "break_glass_required")
    r = await client.put(
        "/api/v1/sso/saml",
        json={"sso_required": True, "break_glass_user_ids": [str(world.acme["admin"].id)]},
        headers=owner,
    )
    assert_problem(r, 422, "break_glass_not_owner")
    r = await client.put(
        "/api/v1/sso/saml",
        json={"sso_required": True, "break_glass_user_ids": [str(world.acme["owner"].id)]},
        headers=owner,
    )
    assert r.status_code == 200 and r.json()["sso_required"] is True
    r = await client.post(
        "/api/v1/auth/login",
        json={
            "org": "acme",
            "login": "member@acme.example",
            "password": world.acme["member"].password,
        },
    )
    assert_problem(r, 403, "sso_required")
    await login(client, "acme", "owner@acme.example")  # the break-glass owner still can
    found = (await client.post("/api/v1/auth/discover", json={"email": "x@acme.example"})).json()
    assert found == {"email": "x@acme.example", "orgs": []} or all(
        o["methods"] == ["saml"] for o in found["orgs"]
    )


async def test_group_rules_deny_and_allow_at_every_login(client, world: World, idp) -> None:
    row = await configure(
        client,
        idp,
        jit=True,
        group_rules=[
            {"value": "contractors", "effect": "deny"},
            {"value": "staff", "effect": "allow"},
        ],
    )
    r = await browser_login(client, idp, groups=("staff", "contractors"))
    assert r.headers["location"].endswith("#reason=denied_by_rule")
    r = await browser_login(client, idp, groups=("visitors",))
    assert r.headers["location"].endswith("#reason=not_allowed_by_rule")
    assert not await User.exists().where(User.email == "jane@acme.example")
    assert (
        await exchange(client, await browser_login(client, idp, groups=("staff",)))
    ).status_code == 200
    assert row["effective_attribute_map"]["groups"] == [GROUPS]


async def test_sp_metadata_comes_from_the_public_url_not_the_host(client, world: World) -> None:
    r = await client.get("/sso/acme/saml/metadata", headers={"Host": "evil.example"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/samlmetadata+xml")
    assert 'entityID="https://staffroom.test/sso/acme/saml/metadata"' in r.text
    assert "https://staffroom.test/sso/acme/saml/acs" in r.text and "evil" not in r.text
    assert_problem(await client.get("/sso/nope/saml/metadata"), 404)


async def test_jit_respects_the_org_email_domain_policy(
    client, world: World, idp, dns_zone
) -> None:
    from tests.onboarding.test_domains import bind

    await configure(client, idp, jit=True)
    h = await admin(client)
    await bind(client, h, dns_zone)
    await client.patch("/api/v1/org", json={"restrict_email_domains": True}, headers=h)
    r = await browser_login(client, idp, name_id="x-1", email="someone@gmail.com")
    assert r.headers["location"].endswith("#reason=domain_policy")
    r = await exchange(client, await browser_login(client, idp, name_id="x-2"))
    me = (await client.get("/api/v1/me", headers=auth(r.json()))).json()
    assert me["email"] == "jane@acme.example" and me["email_verified"] is True


async def test_groups_and_role_follow_the_idp_at_every_login(client, world: World, idp) -> None:
    h = await admin(client)
    hr = (await client.post("/api/v1/groups", json={"name": "HR"}, headers=h)).json()
    manual = (await client.post("/api/v1/groups", json={"name": "Choir"}, headers=h)).json()
    await configure(
        client,
        idp,
        jit=True,
        group_rules=[{"value": "hr", "group_id": hr["id"], "role": "hr_admin"}],
    )
    r = await exchange(client, await browser_login(client, idp, groups=("hr",)))
    me = (await client.get("/api/v1/me", headers=auth(r.json()))).json()
    assert me["role"] == "hr_admin" and me["group_ids"] == [hr["id"]]
    # Groups not named by any rule are the admin's: SSO leaves them alone.
    await client.patch(
        f"/api/v1/users/{me['id']}", json={"group_ids": [hr["id"], manual["id"]]}, headers=h
    )
    r = await exchange(client, await browser_login(client, idp, groups=("staff",)))
    me = (await client.get("/api/v1/me", headers=auth(r.json()))).json()
    assert me["group_ids"] == [manual["id"]]


async def test_the_doctor_keeps_the_last_fifty_attempts(client, world: World, idp, rt) -> None:
    from staffroom.sso.service import doctor
    from staffroom.sso.tables import IdentityProvider

    row = await configure(client, idp, jit=False)
    stored = (
        await IdentityProvider.select()
        .where(IdentityProvider.id == row["id"])
        .output(load_json=True)
    )
    for _ in range(52):
        await doctor.record(rt, world.acme.id, stored[0], outcome="failure", reason="older")
    await browser_login(client, idp)  # one real attempt, the newest
    r = await client.get(f"/api/v1/sso/idps/{row['id']}/attempts", headers=await admin(client))
    items = r.json()["items"]
    assert len(items) == 50 and items[0]["reason"] == "unknown_user"
    assert {i["reason"] for i in items[1:]} == {"older"}
    assert await SsoAttempt.count() == 50
