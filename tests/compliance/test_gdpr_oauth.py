"""GDPR and OAuth: a person's connected apps (consents) and their grants' metadata are in
their export, never a token or its digest, nor another person's; erasing the person
deletes them (and their refresh tokens and codes), while another person's stay."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from staffroom.oauth.tables import OAuthCode, OAuthConsent, OAuthGrant, OAuthRefreshToken
from tests.oauth.helpers import TOKEN, authorized_code, new_verifier, oauth_client, register
from tests.support.world import World, bearer


async def _allow(app: Any, client: Any, person: dict[str, str], made: dict[str, Any]) -> dict:
    """The person allows the app; the app's tokens."""
    async with oauth_client(app, made) as c:
        verifier = new_verifier()
        redirect_to, state = await authorized_code(client, person, c, verifier)
        token: dict = await c.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
    return token


async def _cast(app: Any, client: Any, world: World) -> dict[str, Any]:
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    editor = await bearer(client, world.acme, "editor")
    rota = await register(client, admin, kind="confidential")
    wiki = await register(client, admin, name="Wiki sync", scopes=("users:read", "feeds:read"))
    return {
        "admin": admin,
        "member": member,
        "editor": editor,
        "rota": rota,
        "member_token": await _allow(app, client, member, rota),
        "editor_token": await _allow(app, client, editor, wiki),
    }


async def test_the_export_holds_the_persons_connected_apps_and_grants_without_tokens(
    app, client, world: World
) -> None:
    cast = await _cast(app, client, world)
    r = await client.get("/api/v1/me/export", headers=cast["member"])
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    apps = json.loads(archive.read("connected_apps.json"))
    assert [(a["app_name"], a["scopes"]) for a in apps] == [("Rota planner", ["users:read"])]
    assert apps[0]["app_id"] == cast["rota"]["client"]["client_id"] and apps[0]["granted_at"]
    grants = json.loads(archive.read("app_grants.json"))
    assert len(grants) == 1
    grant = grants[0]
    assert (grant["app_name"], grant["grant_type"], grant["scopes"]) == (
        "Rota planner",
        "authorization_code",
        ["users:read"],
    )
    assert grant["created_at"] and grant["last_used_at"] and grant["revoked_at"] is None
    assert "connected_apps.json" in archive.read("README.txt").decode()
    # Neither a token nor its digest, of the grant or its refresh tokens; not the editor's.
    everything = b"".join(archive.read(n) for n in archive.namelist())
    row = await OAuthGrant.select().where(OAuthGrant.id == grant["id"]).first()
    refresh = await OAuthRefreshToken.select().where(OAuthRefreshToken.grant == row["id"])
    secrets = [
        cast["member_token"]["access_token"],
        cast["member_token"]["refresh_token"],
        row["access_hash"],
        *(t["token_hash"] for t in refresh),
    ]
    assert refresh and not [s for s in secrets if s.encode() in everything]
    assert b"access_hash" not in everything and b"token_hash" not in everything
    assert b"Wiki sync" not in everything


async def test_erasure_deletes_the_persons_consents_grants_and_codes(
    app, client, world: World
) -> None:
    cast = await _cast(app, client, world)
    member_id, editor_id = world.acme["member"].id, world.acme["editor"].id
    # A code the app never redeemed is the person's too.
    async with oauth_client(app, cast["rota"]) as c:
        await authorized_code(client, cast["member"], c, new_verifier())
    assert await OAuthCode.count().where(OAuthCode.user == member_id) == 2
    owner = await bearer(client, world.acme, "owner")
    r = await client.post(
        f"/api/v1/users/{member_id}/erase", json={"reason": "Art. 17 request"}, headers=owner
    )
    assert r.status_code == 204, r.text
    for table in (OAuthConsent, OAuthGrant, OAuthCode):
        assert await table.count().where(table.user == member_id) == 0, table
        assert await table.count().where(table.user == editor_id) == 1, table
    assert await OAuthRefreshToken.count() == 1  # the editor's grant's
    api = {"Authorization": f"Bearer {cast['member_token']['access_token']}"}
    assert (await client.get("/api/v1/users", headers=api)).status_code == 401
    api = {"Authorization": f"Bearer {cast['editor_token']['access_token']}"}
    assert (await client.get("/api/v1/users", headers=api)).status_code == 200
