"""The web app's sessions: the refresh token in an HttpOnly, Secure, SameSite=Strict cookie
limited to the refresh path, usable only from the app's own origin; mobile apps keep
bearer refresh tokens in the body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.world import PASSWORD, World, assert_problem

WEB = {"X-Staffroom-Client": "web"}
ORIGIN = {"Origin": "https://staffroom.test"}


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Over HTTPS, as the browser: a Secure cookie is never sent over plain HTTP."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


async def _web_login(client: Any, world: World) -> Any:
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": "member@acme.example", "password": PASSWORD},
        headers=WEB,
    )
    assert r.status_code == 200, r.text
    return r


def _use_cookie(client: httpx.AsyncClient, value: str) -> None:
    client.cookies.clear()
    client.cookies.set("staffroom_refresh", value, domain="testserver", path="/api/v1/auth/refresh")


def _cookie_header(r: Any) -> str:
    cookies = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    assert len(cookies) == 1, cookies
    return str(cookies[0])


async def test_the_web_app_gets_its_refresh_token_as_an_httponly_cookie(
    client: Any, world: World
) -> None:
    r = await _web_login(client, world)
    assert r.json()["refresh_token"] is None and r.json()["access_token"]
    cookie = _cookie_header(r)
    assert cookie.startswith("staffroom_refresh=")
    attrs = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/api/v1/auth/refresh"} <= attrs
    # A mobile app's sign-in is unchanged: the token in the body, no cookie.
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": "member@acme.example", "password": PASSWORD},
    )
    assert r.json()["refresh_token"] and "set-cookie" not in r.headers


async def test_the_cookie_refreshes_from_the_apps_origin_and_rotates(
    client: Any, world: World
) -> None:
    first = await _web_login(client, world)
    old_cookie = client.cookies.get("staffroom_refresh")
    r = await client.post("/api/v1/auth/refresh", json={}, headers={**WEB, **ORIGIN})
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"] is None
    assert r.json()["access_token"] != first.json()["access_token"]
    new_cookie = client.cookies.get("staffroom_refresh")
    assert new_cookie and new_cookie != old_cookie
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.status_code == 200
    # The old cookie again is a reused refresh token: the whole session ends.
    _use_cookie(client, old_cookie)
    r = await client.post("/api/v1/auth/refresh", json={}, headers={**WEB, **ORIGIN})
    assert_problem(r, 401, "invalid_refresh_token")
    _use_cookie(client, new_cookie)
    r = await client.post("/api/v1/auth/refresh", json={}, headers={**WEB, **ORIGIN})
    assert_problem(r, 401, "invalid_refresh_token")


async def test_another_origin_cannot_use_the_cookie(client: Any, world: World) -> None:
    await _web_login(client, world)
    cookie = client.cookies.get("staffroom_refresh")
    for origin in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {}):
        r = await client.post("/api/v1/auth/refresh", json={}, headers={**WEB, **origin})
        assert_problem(r, 403, "origin_refused")
        assert "set-cookie" not in r.headers
    # Nothing was used up: the app itself still refreshes with the same cookie.
    assert client.cookies.get("staffroom_refresh") == cookie
    r = await client.post("/api/v1/auth/refresh", json={}, headers={**WEB, **ORIGIN})
    assert r.status_code == 200, r.text


async def test_no_cookie_and_no_token_is_401(client: Any, world: World) -> None:
    r = await client.post("/api/v1/auth/refresh", json={}, headers={**WEB, **ORIGIN})
    assert_problem(r, 401, "invalid_refresh_token")


async def test_sign_out_clears_the_cookie(client: Any, world: World) -> None:
    r = await _web_login(client, world)
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.post("/api/v1/auth/logout", headers={**bearer, **WEB})
    assert r.status_code == 204
    cleared = _cookie_header(r).lower()
    assert cleared.startswith('staffroom_refresh=""') or cleared.startswith("staffroom_refresh=;")
    assert "max-age=0" in cleared and "path=/api/v1/auth/refresh" in cleared
