"""OAuth clients in the admin API: the secret shown once and stored as a digest, exact
redirect URIs (https, http only on loopback), scopes never beyond the admin's rights,
narrowing, secret rotation, removal; who may manage them."""

from __future__ import annotations

import pytest

from staffroom.core.tables import AuditEvent
from staffroom.oauth.tables import OAuthClient, OAuthGrant
from tests.oauth.helpers import (
    CALLBACK,
    TOKEN,
    authorized_code,
    new_verifier,
    oauth_client,
    register,
)
from tests.support.world import World, assert_problem, bearer


async def test_a_secret_is_shown_once_and_stored_as_a_digest(client, world: World):
    admin = await bearer(client, world.acme, "admin")
    made = await register(client, admin, kind="confidential")
    secret = made["client_secret"]
    assert len(secret) >= 43 and made["client"]["kind"] == "confidential"
    listed = (await client.get("/api/v1/oauth/clients", headers=admin)).json()
    assert [c["id"] for c in listed] == [made["client"]["id"]] and secret not in str(listed)
    row = await OAuthClient.select().first()
    assert secret not in str(row) and len(row["secret_hash"]) == 64
    created = await AuditEvent.select().where(AuditEvent.action == "oauth_client.created")
    assert created and secret not in str(created)


@pytest.mark.parametrize(
    "uri",
    [
        "http://app.example/cb",  # http off loopback
        "http://localhost:8765/cb",  # a name, not a loopback address
        "https://*.example/cb",
        "https://app.example/cb#x",
        "https://user:pw@app.example/cb",
        "com.example.app:/cb",
        "/relative",
        "https://app.example:99999/cb",
    ],
)
async def test_redirect_uris_must_be_exact_and_safe(client, world: World, uri):
    admin = await bearer(client, world.acme, "admin")
    r = await client.post(
        "/api/v1/oauth/clients",
        json={"name": "App", "kind": "public", "scopes": ["users:read"], "redirect_uris": [uri]},
        headers=admin,
    )
    assert_problem(r, 422, "invalid_redirect_uri")
    assert await OAuthClient.count() == 0


async def test_loopback_and_https_redirect_uris_are_taken(client, world: World):
    admin = await bearer(client, world.acme, "admin")
    uris = ("https://app.example/cb", CALLBACK, "http://[::1]:9000/cb")
    made = await register(client, admin, redirect_uris=uris)
    assert made["client"]["redirect_uris"] == list(uris)


async def test_a_client_never_gets_more_than_its_admin(client, world: World):
    hr = await bearer(client, world.acme, "hr_admin")
    member = await bearer(client, world.acme, "member")
    body = {"name": "x", "kind": "public", "scopes": ["users:read"], "redirect_uris": [CALLBACK]}
    assert_problem(await client.post("/api/v1/oauth/clients", json=body, headers=member), 403)
    assert_problem(await client.post("/api/v1/oauth/clients", json=body, headers=hr), 403)
    admin = await bearer(client, world.acme, "admin")
    body["scopes"] = ["users:read", "nonsense"]
    assert_problem(
        await client.post("/api/v1/oauth/clients", json=body, headers=admin), 422, "unknown_scope"
    )
    assert await OAuthClient.count() == 0


async def test_narrowed_scopes_apply_to_live_tokens_at_once(app, client, world: World):
    admin = await bearer(client, world.acme, "admin")
    made = await register(client, admin, kind="confidential", scopes=("users:read", "feeds:read"))
    async with oauth_client(app, made, scope=None) as c:
        await c.fetch_token(TOKEN, grant_type="client_credentials")
        assert (await c.get("/api/v1/feed")).status_code == 200
        r = await client.patch(
            f"/api/v1/oauth/clients/{made['client']['id']}",
            json={"scopes": ["users:read"]},
            headers=admin,
        )
        assert r.status_code == 200 and r.json()["scopes"] == ["users:read"], r.text
        assert (await c.get("/api/v1/feed")).status_code == 403
        assert (await c.get("/api/v1/users")).status_code == 200


async def test_a_rotated_secret_replaces_the_old_one(app, client, world: World):
    admin = await bearer(client, world.acme, "admin")
    made = await register(client, admin, kind="confidential")
    r = await client.post(f"/api/v1/oauth/clients/{made['client']['id']}/secret", headers=admin)
    assert r.status_code == 200, r.text
    old = await client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(made["client"]["client_id"], made["client_secret"]),
    )
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    new = await client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(made["client"]["client_id"], r.json()["client_secret"]),
    )
    assert new.status_code == 200, new.text


async def test_removing_a_client_removes_its_tokens(app, client, world: World):
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    made = await register(client, admin)
    verifier = new_verifier()
    async with oauth_client(app, made) as c:
        redirect_to, state = await authorized_code(client, member, c, verifier)
        token = await c.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
    r = await client.delete(f"/api/v1/oauth/clients/{made['client']['id']}", headers=admin)
    assert r.status_code == 204, r.text
    api = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await client.get("/api/v1/users", headers=api)).status_code == 401
    assert await OAuthGrant.count() == 0 and await OAuthClient.count() == 0
    r = await client.get(f"/api/v1/oauth/clients/{made['client']['id']}", headers=admin)
    assert_problem(r, 404, "oauth_client_not_found")
