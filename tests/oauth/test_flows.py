"""T19 good paths: authorization code + PKCE end to end through plain HTTP with an
independent client (authlib's httpx client), refresh rotation, client credentials, the
metadata document, revocation and introspection."""

from __future__ import annotations

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from staffroom.core.tables import AuditEvent
from staffroom.oauth.tables import OAuthGrant, OAuthRefreshToken
from tests.oauth.helpers import (
    INTROSPECT,
    REVOKE,
    TOKEN,
    authorized_code,
    new_verifier,
    oauth_client,
    register,
)
from tests.support.world import World, bearer


async def test_code_with_pkce_end_to_end_then_an_api_call(app, client, world: World):
    admin = await bearer(client, world.acme, "admin")
    registered = await register(client, admin, scopes=("users:read",))
    assert registered["client_secret"] is None  # a public client has none
    member = await bearer(client, world.acme, "member")
    verifier = new_verifier()
    async with oauth_client(app, registered) as app_client:
        redirect_to, state = await authorized_code(client, member, app_client, verifier)
        token = await app_client.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
        assert token["token_type"] == "Bearer" and token["scope"] == "users:read"
        assert token["access_token"].startswith("sroat_")
        assert token["refresh_token"].startswith("srort_")
        assert token["expires_in"] == 3600
        # The app calls the API with the token, as the person, within its scope.
        r = await app_client.get("/api/v1/users")
        assert r.status_code == 200, r.text
        assert "member@acme.example" in r.text
        r = await app_client.get("/api/v1/me")
        assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    # Stored as digests only.
    row = await OAuthGrant.select().first()
    assert token["access_token"] not in str(row)
    assert token["refresh_token"] not in str(await OAuthRefreshToken.select())
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action)]
    assert {"oauth_client.created", "oauth.authorized", "oauth.token_issued"} <= set(actions)


async def test_refresh_tokens_rotate(app, client, world: World):
    admin = await bearer(client, world.acme, "admin")
    registered = await register(client, admin, kind="confidential")
    member = await bearer(client, world.acme, "member")
    verifier = new_verifier()
    async with oauth_client(app, registered) as app_client:
        redirect_to, state = await authorized_code(client, member, app_client, verifier)
        first = await app_client.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
        second = await app_client.refresh_token(TOKEN, refresh_token=first["refresh_token"])
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        # The old access token ended with the rotation; the new one works.
        old = {"Authorization": f"Bearer {first['access_token']}"}
        assert (await client.get("/api/v1/users", headers=old)).status_code == 401
        new = {"Authorization": f"Bearer {second['access_token']}"}
        assert (await client.get("/api/v1/users", headers=new)).status_code == 200


async def test_client_credentials_act_with_the_clients_scopes(app, client, world: World):
    admin = await bearer(client, world.acme, "admin")
    registered = await register(client, admin, kind="confidential", scopes=("users:read",))
    assert len(registered["client_secret"]) >= 43
    async with oauth_client(app, registered, scope=None) as app_client:
        token = await app_client.fetch_token(TOKEN, grant_type="client_credentials")
        assert token["scope"] == "users:read" and "refresh_token" not in token
        r = await app_client.get("/api/v1/users")
        assert r.status_code == 200, r.text
        r = await app_client.post("/api/v1/invites", json={"email": "new@acme.example"})
        assert r.status_code == 403


async def test_metadata_names_the_endpoints(client):
    r = await client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200, r.text
    doc = r.json()
    AuthorizationServerMetadata(doc).validate()
    assert doc["issuer"] == "https://staffroom.test"
    assert doc["token_endpoint"] == TOKEN
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "users:read" in doc["scopes_supported"]


async def test_revocation_and_introspection(app, client, world: World):
    admin = await bearer(client, world.acme, "admin")
    registered = await register(client, admin, kind="confidential")
    member = await bearer(client, world.acme, "member")
    verifier = new_verifier()
    async with oauth_client(app, registered) as app_client:
        redirect_to, state = await authorized_code(client, member, app_client, verifier)
        token = await app_client.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
        seen = (await app_client.introspect_token(INTROSPECT, token=token["access_token"])).json()
        assert seen["active"] is True and seen["scope"] == "users:read"
        assert seen["client_id"] == registered["client"]["client_id"]
        assert seen["sub"] == str(world.acme["member"].id)
        r = await app_client.revoke_token(REVOKE, token=token["refresh_token"])
        assert r.status_code == 200, r.text
        seen = (await app_client.introspect_token(INTROSPECT, token=token["access_token"])).json()
        assert seen == {"active": False}
    bearer_header = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await client.get("/api/v1/users", headers=bearer_header)).status_code == 401
    revoked = await AuditEvent.select().where(AuditEvent.action == "oauth.token_revoked")
    assert len(revoked) == 1 and revoked[0]["actor_type"] == "oauth_client"
