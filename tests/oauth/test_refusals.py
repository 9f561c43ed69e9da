"""T19 refusals, each on its own: the independent client (authlib's httpx client) gets a
clear OAuth error, nothing is issued, and what was issued before is revoked where the
RFCs say so."""

from __future__ import annotations

from typing import Any

import pytest
from authlib.integrations.base_client import OAuthError

from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from staffroom.oauth.tables import OAuthCode, OAuthGrant
from tests.oauth.helpers import (
    AUTHORIZE,
    CALLBACK,
    TOKEN,
    authorized_code,
    consent,
    new_verifier,
    oauth_client,
    params_of,
    query_of,
    register,
)
from tests.support.apps import app_client
from tests.support.world import World, assert_problem, bearer


async def _cast(client, world: World, **kw: Any) -> tuple[dict, dict, dict]:
    admin = await bearer(client, world.acme, "admin")
    registered = await register(client, admin, **kw)
    return admin, await bearer(client, world.acme, "member"), registered


async def _tokens(app, client, member, registered) -> dict[str, Any]:
    verifier = new_verifier()
    async with oauth_client(app, registered) as app_client:
        redirect_to, state = await authorized_code(client, member, app_client, verifier)
        token: dict[str, Any] = await app_client.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
    return token


def _api(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


async def _actions() -> list[str]:
    return [e["action"] for e in await AuditEvent.select(AuditEvent.action)]


async def test_a_redirect_uri_not_registered_is_refused_without_redirecting(app, client, world):
    _, member, registered = await _cast(client, world)
    async with oauth_client(app, registered, redirect_uri="https://evil.example/cb") as c:
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
    r = await consent(client, member, url)
    body = assert_problem(r, 422, "oauth_invalid_request")
    assert "evil.example" in body["detail"]
    assert await OAuthCode.count() == 0


@pytest.mark.parametrize("extra", ["/more", "?next=https://evil.example", ":8766"])
async def test_a_redirect_uri_with_anything_extra_is_refused(app, client, world, extra):
    _, member, registered = await _cast(client, world)
    uri = CALLBACK + extra if extra != ":8766" else CALLBACK.replace(":8765", extra)
    async with oauth_client(app, registered, redirect_uri=uri) as c:
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
    assert_problem(await consent(client, member, url), 422, "oauth_invalid_request")
    assert await OAuthCode.count() == 0


async def test_a_second_redirect_uri_parameter_is_refused(app, client, world):
    _, member, registered = await _cast(client, world)
    async with oauth_client(app, registered) as c:
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
    url += "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
    body = assert_problem(await consent(client, member, url), 422, "oauth_invalid_request")
    assert "Multiple" in body["detail"]
    assert await OAuthCode.count() == 0


async def test_a_code_redeemed_with_another_redirect_uri_is_refused(app, client, world):
    _, member, registered = await _cast(
        client, world, redirect_uris=(CALLBACK, "http://127.0.0.1:8765/other")
    )
    verifier = new_verifier()
    async with oauth_client(app, registered) as c:
        redirect_to, _ = await authorized_code(client, member, c, verifier)
        code = params_of(redirect_to)["code"]
        with pytest.raises(OAuthError) as refused:
            await c.fetch_token(
                TOKEN,
                code=code,
                code_verifier=verifier,
                redirect_uri="http://127.0.0.1:8765/other",
            )
    assert refused.value.error == "invalid_grant"
    assert await OAuthGrant.count() == 0


async def test_a_code_used_twice_is_refused_and_its_tokens_revoked(app, client, world):
    _, member, registered = await _cast(client, world)
    verifier = new_verifier()
    async with oauth_client(app, registered) as c:
        redirect_to, state = await authorized_code(client, member, c, verifier)
        token = await c.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
        assert (await client.get("/api/v1/users", headers=_api(token))).status_code == 200
        with pytest.raises(OAuthError) as refused:
            await c.fetch_token(
                TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
            )
        assert refused.value.error == "invalid_grant"
        assert "used before" in refused.value.description
        # What the code gave is revoked, the refresh token too.
        assert (await client.get("/api/v1/users", headers=_api(token))).status_code == 401
        with pytest.raises(OAuthError):
            await c.refresh_token(TOKEN, refresh_token=token["refresh_token"])
    grant = await OAuthGrant.select().first()
    assert grant["revoke_reason"] == "code_reuse"
    assert "oauth.code_reuse" in await _actions()


async def test_a_wrong_pkce_verifier_is_refused(app, client, world):
    _, member, registered = await _cast(client, world)
    async with oauth_client(app, registered) as c:
        redirect_to, state = await authorized_code(client, member, c, new_verifier())
        with pytest.raises(OAuthError) as refused:
            await c.fetch_token(
                TOKEN, authorization_response=redirect_to, code_verifier=new_verifier(), state=state
            )
    assert refused.value.error == "invalid_grant"
    assert "challenge" in refused.value.description
    assert await OAuthGrant.count() == 0


async def test_a_public_client_without_a_verifier_is_refused(app, client, world):
    _, member, registered = await _cast(client, world)
    async with oauth_client(app, registered) as c:
        redirect_to, state = await authorized_code(client, member, c, new_verifier())
        with pytest.raises(OAuthError) as refused:
            await c.fetch_token(TOKEN, authorization_response=redirect_to, state=state)
    assert refused.value.error == "invalid_request"
    assert await OAuthGrant.count() == 0


async def test_the_plain_pkce_method_is_refused(app, client, world):
    _, member, registered = await _cast(client, world)
    async with oauth_client(app, registered) as c:
        verifier = new_verifier()
        url, state = c.create_authorization_url(
            AUTHORIZE, code_challenge=verifier, code_challenge_method="plain"
        )
    r = await consent(client, member, url)
    assert r.status_code == 200, r.text
    back = params_of(r.json()["redirect_to"])
    assert back["error"] == "invalid_request" and back["state"] == state
    assert "S256" in back["error_description"]
    assert await OAuthCode.count() == 0


async def test_a_public_client_must_send_a_code_challenge(app, client, world):
    _, member, registered = await _cast(client, world)
    async with oauth_client(app, registered) as c:
        url, _ = c.create_authorization_url(AUTHORIZE)  # no verifier: no challenge
    r = await consent(client, member, url)
    back = params_of(r.json()["redirect_to"])
    assert back["error"] == "invalid_request" and "PKCE" in back["error_description"]
    assert await OAuthCode.count() == 0


async def test_an_expired_code_is_refused(app, client, world):
    _, member, registered = await _cast(client, world)
    verifier = new_verifier()
    async with oauth_client(app, registered) as c:
        redirect_to, state = await authorized_code(client, member, c, verifier)
        clock.travel(61)
        with pytest.raises(OAuthError) as refused:
            await c.fetch_token(
                TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
            )
    assert refused.value.error == "invalid_grant" and "expired" in refused.value.description
    assert await OAuthGrant.count() == 0


async def test_a_scope_beyond_the_clients_is_refused(app, client, world):
    _, member, registered = await _cast(client, world, scopes=("users:read",))
    async with oauth_client(app, registered, scope="users:read feeds:read") as c:
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
    back = params_of((await consent(client, member, url)).json()["redirect_to"])
    assert back["error"] == "invalid_scope"
    assert await OAuthCode.count() == 0
    assert "oauth.authorization_refused" in await _actions()


async def test_a_scope_beyond_the_persons_rights_is_refused(app, client, world):
    # users:write needs users.manage: an admin may register it, a member cannot grant it.
    _, member, registered = await _cast(client, world, scopes=("users:read", "users:write"))
    async with oauth_client(app, registered, scope="users:write") as c:
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
    back = params_of((await consent(client, member, url)).json()["redirect_to"])
    assert back["error"] == "invalid_scope" and "users:write" in back["error_description"]
    assert await OAuthCode.count() == 0


async def test_client_credentials_beyond_the_clients_scopes_are_refused(app, client, world):
    _, _, registered = await _cast(client, world, kind="confidential", scopes=("users:read",))
    async with oauth_client(app, registered, scope="audit:read") as c:
        with pytest.raises(OAuthError) as refused:
            await c.fetch_token(TOKEN, grant_type="client_credentials")
    assert refused.value.error == "invalid_scope"
    assert await OAuthGrant.count() == 0


async def test_another_orgs_client_is_not_found(app, client, world):
    _, _, registered = await _cast(client, world)
    outsider = await bearer(client, world.globex, "member")
    async with oauth_client(app, registered) as c:
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
    r = await client.get(f"/api/v1/oauth/authorize?{query_of(url)}", headers=outsider)
    assert_problem(r, 404, "oauth_client_not_found")
    r = await client.post(
        f"/api/v1/oauth/authorize?{query_of(url)}", json={"approve": True}, headers=outsider
    )
    assert_problem(r, 404, "oauth_client_not_found")
    assert await OAuthCode.count() == 0


async def test_a_reused_refresh_token_revokes_the_grant(app, client, world):
    _, member, registered = await _cast(client, world)
    token = await _tokens(app, client, member, registered)
    async with oauth_client(app, registered) as c:
        newer = await c.refresh_token(TOKEN, refresh_token=token["refresh_token"])
        with pytest.raises(OAuthError) as refused:
            await c.refresh_token(TOKEN, refresh_token=token["refresh_token"])
        assert refused.value.error == "invalid_grant" and "used before" in refused.value.description
        # The thief's replay ended the family: the rotated tokens are dead too.
        assert (await client.get("/api/v1/users", headers=_api(newer))).status_code == 401
        with pytest.raises(OAuthError):
            await c.refresh_token(TOKEN, refresh_token=newer["refresh_token"])
    assert (await OAuthGrant.select().first())["revoke_reason"] == "refresh_reuse"
    assert "oauth.refresh_reuse" in await _actions()


async def test_a_disabled_clients_tokens_stop_at_once(app, client, world):
    admin, member, registered = await _cast(client, world)
    token = await _tokens(app, client, member, registered)
    client_id = registered["client"]["id"]
    r = await client.post(f"/api/v1/oauth/clients/{client_id}/disable", headers=admin)
    assert r.status_code == 200 and r.json()["disabled"] is True, r.text
    assert (await client.get("/api/v1/users", headers=_api(token))).status_code == 401
    async with oauth_client(app, registered) as c:
        with pytest.raises(OAuthError) as refused:
            await c.refresh_token(TOKEN, refresh_token=token["refresh_token"])
        assert refused.value.error == "invalid_client"
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
    assert_problem(await consent(client, member, url), 404, "oauth_client_not_found")
    assert "oauth_client.disabled" in await _actions()


async def test_a_wrong_client_secret_is_refused(app, client, world):
    _, _, registered = await _cast(client, world, kind="confidential")
    registered["client_secret"] = "not-the-secret"
    async with oauth_client(app, registered) as c:
        with pytest.raises(OAuthError) as refused:
            await c.fetch_token(TOKEN, grant_type="client_credentials")
    assert refused.value.error == "invalid_client"
    assert await OAuthGrant.count() == 0


async def test_an_access_token_in_a_query_string_is_refused(app, client, world):
    _, member, registered = await _cast(client, world)
    token = await _tokens(app, client, member, registered)
    r = await client.get(f"/api/v1/users?access_token={token['access_token']}")
    body = assert_problem(r, 400, "token_in_query")
    assert 'error="invalid_request"' in r.headers["www-authenticate"]
    assert "Authorization header" in body["detail"]
    # With the header as well, the URL still does not carry it.
    r = await client.get(f"/api/v1/users?access_token={token['access_token']}", headers=_api(token))
    assert_problem(r, 400, "token_in_query")


async def test_token_endpoint_parameters_in_the_url_are_refused(app, client, world):
    _, _, registered = await _cast(client, world, kind="confidential")
    r = await client.post(
        "/api/v1/oauth/token?grant_type=client_credentials",
        data={"grant_type": "client_credentials"},
        auth=(registered["client"]["client_id"], registered["client_secret"]),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert await OAuthGrant.count() == 0


@pytest.mark.parametrize("field", ["redirect_uri", "response_type"])
async def test_characters_no_oauth_parameter_may_hold_are_refused(app, client, world, field):
    _, member, registered = await _cast(client, world)
    async with oauth_client(app, registered) as c:
        url, _ = c.create_authorization_url(AUTHORIZE, code_verifier=new_verifier())
    bad = {"redirect_uri": 'http://127.0.0.1:8765/"x', "response_type": "tok\\en"}[field]
    params = params_of(url) | {field: bad}
    r = await client.get("/api/v1/oauth/authorize", params=params, headers=member)
    assert_problem(r, 422, "oauth_invalid_request")
    r = await client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "x\\y", "client_id": registered["client"]["client_id"]},
    )
    assert r.status_code == 400 and r.json()["error"] in (
        "invalid_request",
        "unsupported_grant_type",
    )
    assert await OAuthCode.count() == 0


async def test_failed_client_authentication_is_limited_per_address(settings, world):
    async with app_client(settings, login_fail_limit_ip=3) as c:
        _, _, registered = await _cast(c, world, kind="confidential")
        wrong = (registered["client"]["client_id"], "not-the-secret")
        for _ in range(3):
            r = await c.post(
                "/api/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=wrong
            )
            assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
        # Now even the right secret waits: guessing from this address is slowed like sign-in.
        right = (registered["client"]["client_id"], registered["client_secret"])
        r = await c.post(
            "/api/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=right
        )
        assert r.status_code == 429 and r.json()["error"] == "temporarily_unavailable", r.text
        assert int(r.headers["retry-after"]) > 0
    refused = await AuditEvent.select().where(AuditEvent.action == "oauth.token_refused")
    assert len(refused) == 3 and {e["outcome"] for e in refused} == {"denied"}
    assert await OAuthGrant.count() == 0
