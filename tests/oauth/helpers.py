"""The OAuth tests' cast: an app registered by an IT admin, an independent client (authlib's
httpx client, not the code under test) and a person answering the consent page's API."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client

BASE = "https://staffroom.test"
AUTHORIZE = f"{BASE}/oauth/authorize"
TOKEN = f"{BASE}/api/v1/oauth/token"
REVOKE = f"{BASE}/api/v1/oauth/revoke"
INTROSPECT = f"{BASE}/api/v1/oauth/introspect"
CALLBACK = "http://127.0.0.1:8765/callback"


async def register(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    *,
    kind: str = "public",
    scopes: tuple[str, ...] = ("users:read",),
    redirect_uris: tuple[str, ...] = (CALLBACK,),
    name: str = "Rota planner",
) -> dict[str, Any]:
    """An app registered through the API (its secret, if any, in `client_secret`)."""
    r = await client.post(
        "/api/v1/oauth/clients",
        json={
            "name": name,
            "kind": kind,
            "scopes": list(scopes),
            "redirect_uris": list(redirect_uris),
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def oauth_client(app: Any, registered: dict[str, Any], **kw: Any) -> AsyncOAuth2Client:
    """authlib's own httpx client for the app, talking to the ASGI app in-process."""
    return AsyncOAuth2Client(
        client_id=registered["client"]["client_id"],
        client_secret=registered.get("client_secret"),
        redirect_uri=kw.pop("redirect_uri", CALLBACK),
        scope=kw.pop("scope", " ".join(registered["client"]["scopes"])),
        code_challenge_method="S256",
        transport=httpx.ASGITransport(app=app, client=("203.0.113.20", 50001)),
        base_url=BASE,
        **kw,
    )


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def query_of(url: str) -> str:
    return urlsplit(url).query


def params_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def consent(
    client: httpx.AsyncClient, person: dict[str, str], url: str, *, approve: bool = True
) -> httpx.Response:
    """The person opens the authorization URL in the web app and answers: what the consent
    page does (check, then decide), through the same API."""
    query = query_of(url)
    r = await client.get(f"/api/v1/oauth/authorize?{query}", headers=person)
    if r.status_code != 200 or r.json()["redirect_to"]:
        return r
    return await client.post(
        f"/api/v1/oauth/authorize?{query}", json={"approve": approve}, headers=person
    )


async def authorized_code(
    client: httpx.AsyncClient, person: dict[str, str], app_client: AsyncOAuth2Client, verifier: str
) -> tuple[str, str]:
    """(redirect with code, state) after the person allowed the app."""
    url, state = app_client.create_authorization_url(AUTHORIZE, code_verifier=verifier)
    r = await consent(client, person, url)
    assert r.status_code == 200, r.text
    redirect_to: str = r.json()["redirect_to"]
    assert redirect_to.startswith(CALLBACK + "?") and "code=" in redirect_to, redirect_to
    return redirect_to, state
