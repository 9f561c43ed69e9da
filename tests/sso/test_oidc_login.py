"""OpenID Connect sign-in through the product (T18's routes): an org's OIDC IdP signs a
person in through the same pipeline as SAML (JIT, group rules, IdP MFA, the one-time code,
the doctor), and every refusal reaches the app's error page and the doctor with its reason.

The provider is tests/support/oidc_op.py; the refusals of bent ID tokens against the
protocol core are in test_oidc_attacks.py.
"""

from __future__ import annotations

import uuid

from staffroom.accounts.tables import GroupMember, User
from staffroom.sso.tables import SsoCode, SsoIdentity
from tests.sso.conftest import admin, configure, exchange
from tests.support import oidc_fixtures
from tests.support.idp import TestIdp
from tests.support.oidc_browser import (
    add_oidc_idp,
    at_idp,
    callback,
    doctor,
    reason,
    sign_in,
    start,
    verified_domain,
)
from tests.support.oidc_op import OpenIdProvider
from tests.support.world import World, assert_problem

# The OIDC tests' fixtures (tests/support/oidc_fixtures.py), made this module's own so that
# its `settings` replaces tests/conftest.py's.
settings = oidc_fixtures.settings
provider = oidc_fixtures.provider
op = oidc_fixtures.op


async def test_a_person_signs_in_jit_with_group_rules_and_idp_mfa(
    client, world: World, op: OpenIdProvider
) -> None:
    h = await admin(client)
    group = (await client.post("/api/v1/groups", json={"name": "Engineering"}, headers=h)).json()
    rules = [{"value": "engineering", "effect": "map", "group_id": group["id"]}]
    idp = await add_oidc_idp(client, op, h, group_rules=rules)

    r = await sign_in(client, idp=idp["id"], next="/feed")
    assert reason(r) == "", r.headers["location"]
    assert "/sso/callback#code=" in r.headers["location"]
    # The binding cookie is dropped once used.
    assert "Max-Age=0" in r.headers["set-cookie"]
    tokens = await exchange(client, r)
    assert tokens.status_code == 200 and tokens.json()["access_token"]
    user = await User.select().where(User.email == "ada@acme.example").first()
    assert user is not None and user["org"] == world.acme.id
    identity = await SsoIdentity.select().where(SsoIdentity.user == user["id"]).first()
    assert identity["name_id"] == "00u-ada-4711"  # by sub, never by email
    assert await GroupMember.exists().where(
        (GroupMember.user == user["id"]) & (GroupMember.group == uuid.UUID(group["id"]))
    )
    # amr: ["pwd", "mfa"]: the IdP did MFA, so the code satisfied it.
    assert (await SsoCode.select(SsoCode.mfa_satisfied).first())["mfa_satisfied"] is True
    assert await doctor(client, idp["id"]) == [("success", "")]


async def test_email_verified_false_never_provisions_or_links(
    client, world: World, op: OpenIdProvider
) -> None:
    idp = await add_oidc_idp(client, op, await admin(client))
    op.user["email_verified"] = False
    r = await sign_in(client, idp=idp["id"])
    assert reason(r) == "email_unverified"
    assert not await User.exists().where(User.email == "ada@acme.example")
    # An existing account with that address is not linked by it either.
    op.user["email"] = "member@acme.example"
    r = await sign_in(client, idp=idp["id"])
    assert reason(r) == "email_unverified"
    assert await SsoIdentity.count() == 0
    # Vouched for, the address of an existing account is still not linked silently.
    op.user["email_verified"] = True
    assert reason(await sign_in(client, idp=idp["id"])) == "account_exists"
    assert await SsoIdentity.count() == 0 and await SsoCode.count() == 0
    assert await doctor(client, idp["id"]) == [
        ("failure", "account_exists"),
        ("failure", "email_unverified"),
        ("failure", "email_unverified"),
    ]


async def test_google_hd_of_another_domain_is_refused(
    client, world: World, op: OpenIdProvider
) -> None:
    h = await admin(client)
    google = {"preset": "google", "hosted_domain": "acme.example"}
    r = await client.post(
        "/api/v1/sso/idps/oidc",
        json={"name": "G", "issuer": op.issuer, "client_id": "g", "client_secret": "x", **google},
        headers=h,
    )
    assert_problem(r, 422, "hosted_domain_not_verified")  # not a domain of this org
    await verified_domain(world.acme.id, "acme.example")
    idp = await add_oidc_idp(client, op, h, **google)
    op.user["hd"] = "evil.example"
    assert reason(await sign_in(client, idp=idp["id"])) == "hosted_domain"
    assert not await User.exists().where(User.email == "ada@acme.example")
    op.user["hd"] = "acme.example"
    assert reason(await sign_in(client, idp=idp["id"])) == ""
    assert await doctor(client, idp["id"]) == [("success", ""), ("failure", "hosted_domain")]


async def test_a_token_from_another_orgs_idp_is_refused(
    client, world: World, op: OpenIdProvider
) -> None:
    acme = await add_oidc_idp(client, op, await admin(client))
    await add_oidc_idp(client, op, await admin(client, "globex"), client_id="staffroom-globex")
    # The provider answers acme's sign-in with a token for globex's client.
    op.bend.id_token = op.id_token("staffroom-globex", "whatever")
    assert reason(await sign_in(client, idp=acme["id"])) == "audience"
    assert await doctor(client, acme["id"]) == [("failure", "audience")]
    # acme's callback (its code, state and cookie) taken to globex's callback URL.
    op.bend.id_token = ""
    started = await start(client, "acme", idp=acme["id"])
    path = (await at_idp(started)).replace("/sso/acme/", "/sso/globex/")
    assert reason(await callback(client, path, started.cookie)) == "state"
    assert await SsoCode.count() == 0


async def test_a_state_mismatch_and_a_replay_are_refused_and_in_the_doctor(
    client, world: World, op: OpenIdProvider
) -> None:
    idp = await add_oidc_idp(client, op, await admin(client))
    first = await start(client, idp=idp["id"])
    answer = await at_idp(first)
    second = await start(client, idp=idp["id"])
    # This browser's cookie is for another sign-in than the answer's state.
    swapped = (first.cookie[0], second.cookie[1])
    assert reason(await callback(client, answer, swapped)) == "state"
    # No cookie at all: nothing names the IdP, so it is filed as of no known IdP.
    assert reason(await callback(client, answer, None)) == "state"
    unknown = await client.get("/api/v1/sso/attempts/unknown-issuer", headers=await admin(client))
    assert [a["reason"] for a in unknown.json()["items"]] == ["state"]
    # The right browser completes it once; the same answer again is a replay.
    assert reason(await callback(client, answer, first.cookie)) == ""
    assert reason(await callback(client, answer, first.cookie)) == "replay"
    # What any browser can send is kept apart from the IdP's own attempts.
    assert await doctor(client, idp["id"]) == [("success", "")]
    assert await doctor(client, idp["id"], unsigned=True) == [
        ("failure", "replay"),
        ("failure", "state"),
    ]
    assert await SsoCode.count() == 1


async def test_an_unknown_person_without_jit_and_a_deny_rule(
    client, world: World, op: OpenIdProvider
) -> None:
    h = await admin(client)
    idp = await add_oidc_idp(client, op, h, jit=False)
    assert reason(await sign_in(client, idp=idp["id"])) == "unknown_user"
    r = await client.patch(
        f"/api/v1/sso/idps/{idp['id']}",
        json={"jit": True, "group_rules": [{"value": "staff", "effect": "deny"}]},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert reason(await sign_in(client, idp=idp["id"])) == "denied_by_rule"
    assert await doctor(client, idp["id"]) == [
        ("failure", "denied_by_rule"),
        ("failure", "unknown_user"),
    ]


async def test_requiring_sso_with_an_oidc_idp_keeps_break_glass_owners(
    client, world: World, op: OpenIdProvider
) -> None:
    owner = await admin(client)
    await add_oidc_idp(client, op, owner)
    r = await client.put(
        "/api/v1/sso/saml",
        json={"sso_required": True, "break_glass_user_ids": [str(world.acme["owner"].id)]},
        headers=owner,
    )
    assert r.status_code == 200, r.text
    member = world.acme["member"]
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": member.login, "password": member.password},
    )
    assert_problem(r, 403, "sso_required")
    owner_login = world.acme["owner"]
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": owner_login.login, "password": owner_login.password},
    )
    assert r.status_code == 200, r.text
    # The one way in for everyone else: the OIDC IdP.
    assert reason(await sign_in(client)) == ""


async def test_discovery_names_each_orgs_sso_protocol(
    client, world: World, op: OpenIdProvider, idp: TestIdp
) -> None:
    # The app shows its SSO button for either (web/src/auth.tsx, hasSso).
    oidc = await add_oidc_idp(client, op, await admin(client))
    await configure(client, idp, org="globex")
    await verified_domain(world.acme.id, "acme.example")
    await verified_domain(world.globex.id, "globex.example")

    async def methods(org: str) -> list[list[str]]:
        r = await client.post("/api/v1/auth/discover", json={"email": f"x@{org}.example"})
        return [o["methods"] for o in r.json()["orgs"]]

    assert await methods("acme") == [["password", "oidc"]]
    assert await methods("globex") == [["password", "saml"]]
    # An org with both names both, its oldest IdP first; a disabled IdP is not offered.
    await configure(client, idp)
    assert await methods("acme") == [["password", "oidc", "saml"]]
    h = await admin(client)
    r = await client.patch(f"/api/v1/sso/idps/{oidc['id']}", json={"enabled": False}, headers=h)
    assert r.status_code == 200, r.text
    assert await methods("acme") == [["password", "saml"]]
