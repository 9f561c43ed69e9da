"""An IT admin adds and changes an OpenID Connect IdP: the client secret sealed at rest and
never returned, the presets' pins required, and a 422 (nothing stored) for bad input."""

from __future__ import annotations

from typing import Any

from staffroom.sso.tables import IdentityProvider
from tests.sso.conftest import admin
from tests.support.world import World, assert_problem

ISSUER = "https://login.example.com"
ENTRA_TENANT = "6f1c2f9e-0d55-4b2f-a2a4-0c1e7f1d2b3a"


def body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Okta",
        "issuer": ISSUER,
        "client_id": "staffroom",
        "client_secret": "very-secret-value",
        "preset": "okta",
        **extra,
    }


async def test_an_admin_adds_an_oidc_idp_whose_secret_is_sealed(client, world: World) -> None:
    h = await admin(client)
    r = await client.post("/api/v1/sso/idps/oidc", json=body(), headers=h)
    assert r.status_code == 201, r.text
    idp = r.json()
    assert idp["kind"] == "oidc" and idp["issuer"] == ISSUER and idp["client_id"] == "staffroom"
    assert idp["client_secret_set"] is True and "very-secret-value" not in r.text
    assert idp["redirect_uri"].endswith("/sso/acme/oidc/callback")
    assert idp["scopes"] == ["openid", "email", "profile"]
    assert idp["certificates"] == [] and idp["entity_id"] == ""
    # The standard claims are what the doctor expects, the email only from `email`.
    assert idp["effective_attribute_map"]["email"] == ["email"]
    stored = await IdentityProvider.select().where(IdentityProvider.kind == "oidc").first()
    assert stored["client_secret"] and "very-secret-value" not in stored["client_secret"]

    # A change without the secret keeps it; the secret can be replaced, never read.
    r = await client.patch(
        f"/api/v1/sso/idps/{idp['id']}",
        json={"scopes": ["openid", "email", "groups"], "enabled": False},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["scopes"] == ["openid", "email", "groups"] and r.json()["client_secret_set"]
    r = await client.patch(
        f"/api/v1/sso/idps/{idp['id']}", json={"client_secret": "rotated"}, headers=h
    )
    assert r.status_code == 200 and "rotated" not in r.text
    listed = (await client.get("/api/v1/sso/idps", headers=h)).json()["items"]
    assert [i["kind"] for i in listed] == ["oidc"]


async def test_bad_input_is_a_422_and_stores_nothing(client, world: World) -> None:
    h = await admin(client)
    cases = [
        (body(issuer="http://idp.example.com"), "invalid_oidc_settings"),  # http off loopback
        (body(scopes=["email", "profile"]), "invalid_oidc_settings"),  # no openid
        (body(preset="google"), "hosted_domain_required"),
        (body(preset="entra"), "invalid_tenant"),  # no tenant id
        (
            body(
                preset="entra",
                tenant_id=ENTRA_TENANT,
                issuer="https://login.microsoftonline.com/common/v2.0",
            ),
            "invalid_tenant",
        ),
        (body(preset="adfs"), "invalid_preset"),
        # Scopes the schema lets through (the OpenAPI document states no item rules).
        (body(scopes=["openid", "e mail"]), "invalid_scope"),
        (body(scopes=["openid", "pr\u00f6file"]), "invalid_scope"),
        (body(scopes=["openid", "x" * 101]), "invalid_scope"),
    ]
    for given, code in cases:
        r = await client.post("/api/v1/sso/idps/oidc", json=given, headers=h)
        assert_problem(r, 422, code)
    for broken in (body(client_secret=""), body(extra_field=1), body(scopes=[])):
        r = await client.post("/api/v1/sso/idps/oidc", json=broken, headers=h)
        assert r.status_code in (400, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert await IdentityProvider.count() == 0

    entra = body(
        preset="entra",
        tenant_id=ENTRA_TENANT,
        issuer=f"https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0",
    )
    r = await client.post("/api/v1/sso/idps/oidc", json=entra, headers=h)
    assert r.status_code == 201, r.text
    idp_id = r.json()["id"]
    # SAML's fields are not an OIDC IdP's, nor OIDC's a SAML IdP's.
    r = await client.patch(f"/api/v1/sso/idps/{idp_id}", json={"certificates": []}, headers=h)
    assert_problem(r, 422, "not_for_oidc")
    r = await client.patch(
        f"/api/v1/sso/idps/{idp_id}", json={"tenant_id": "another-tenant"}, headers=h
    )
    assert_problem(r, 422, "invalid_tenant")  # no longer the issuer's tenant
    r = await client.post(
        "/api/v1/sso/idps/oidc", json=body(), headers=await admin(client, "globex")
    )
    assert r.status_code == 201
    r = await client.patch(
        f"/api/v1/sso/idps/{idp_id}", json={"name": "x"}, headers=await admin(client, "globex")
    )
    assert_problem(r, 404, "idp_not_found")  # another org's IdP


async def test_a_member_cannot_add_one(client, world: World) -> None:
    from tests.support.world import bearer

    r = await client.post(
        "/api/v1/sso/idps/oidc", json=body(), headers=await bearer(client, world.acme, "member")
    )
    assert_problem(r, 403)
