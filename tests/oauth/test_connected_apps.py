"""Consent remembered per person and app, listed and revocable under Me; deactivating a
person (or the admin who registered a client) revokes the tokens at once."""

from __future__ import annotations

import pytest
from authlib.integrations.base_client import OAuthError

from staffroom.oauth.tables import OAuthConsent
from tests.oauth.helpers import (
    AUTHORIZE,
    TOKEN,
    authorized_code,
    new_verifier,
    oauth_client,
    query_of,
    register,
)
from tests.support.world import World, assert_problem, bearer


async def test_consent_is_remembered_then_revocable_under_me(app, client, world: World):
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    made = await register(client, admin)
    verifier = new_verifier()
    async with oauth_client(app, made) as c:
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=verifier)
        first = await client.get(f"/api/v1/oauth/authorize?{query_of(url)}", headers=member)
        prompt = first.json()["prompt"]
        assert prompt["remembered"] is False and prompt["scopes"] == ["users:read"]
        assert prompt["client"]["name"] == "Rota planner" and prompt["org"]["name"] == "Acme"
        redirect_to, state = await authorized_code(client, member, c, verifier)
        token = await c.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
        again = await client.get(f"/api/v1/oauth/authorize?{query_of(url)}", headers=member)
        assert again.json()["prompt"]["remembered"] is True

    apps = (await client.get("/api/v1/me/connected-apps", headers=member)).json()
    assert [(a["name"], a["scopes"]) for a in apps] == [("Rota planner", ["users:read"])]
    r = await client.delete(f"/api/v1/me/connected-apps/{apps[0]['client_id']}", headers=member)
    assert r.status_code == 204, r.text
    api = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await client.get("/api/v1/users", headers=api)).status_code == 401
    assert (await client.get("/api/v1/me/connected-apps", headers=member)).json() == []
    assert await OAuthConsent.count() == 0
    r = await client.delete(f"/api/v1/me/connected-apps/{apps[0]['client_id']}", headers=member)
    assert_problem(r, 404, "connected_app_not_found")


async def test_a_denial_goes_back_to_the_app(app, client, world: World):
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    made = await register(client, admin)
    async with oauth_client(app, made) as c:
        url, state = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
    r = await client.post(
        f"/api/v1/oauth/authorize?{query_of(url)}", json={"approve": False}, headers=member
    )
    assert r.status_code == 200, r.text
    assert "error=access_denied" in r.json()["redirect_to"] and f"state={state}" in r.text
    assert await OAuthConsent.count() == 0


async def test_deactivation_revokes_a_persons_and_a_creators_tokens(app, client, world: World):
    owner = await bearer(client, world.acme, "owner")
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    public = await register(client, admin)
    service = await register(client, admin, kind="confidential")
    verifier = new_verifier()
    async with oauth_client(app, public) as c:
        redirect_to, state = await authorized_code(client, member, c, verifier)
        personal = await c.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
    async with oauth_client(app, service, scope=None) as c:
        machine = await c.fetch_token(TOKEN, grant_type="client_credentials")
    for who in ("member", "admin"):
        r = await client.post(f"/api/v1/users/{world.acme[who].id}/deactivate", headers=owner)
        assert r.status_code == 200, r.text
    for token in (personal, machine):
        api = {"Authorization": f"Bearer {token['access_token']}"}
        assert (await client.get("/api/v1/users", headers=api)).status_code == 401
    # Its creator gone, the client cannot get new tokens for itself either.
    async with oauth_client(app, service, scope=None) as c:
        with pytest.raises(OAuthError) as refused:
            await c.fetch_token(TOKEN, grant_type="client_credentials")
    assert refused.value.error == "unauthorized_client"
