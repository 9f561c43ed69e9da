"""An org's OpenID Connect IdP through the API, and a browser's sign-in at it over HTTP:
Staffroom's start (its binding cookie kept), the local provider's authorize, our callback;
and what the SSO doctor then shows for the IdP (the admin console's API).

The test client speaks http://testserver, where httpx would not send back the binding
cookie (it is Secure), so the steps carry it by hand, as a browser carries it over https.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from staffroom.accounts.tables import OrgDomain
from staffroom.core import clock
from tests.support.flows import auth
from tests.support.oidc_op import OpenIdProvider
from tests.support.world import login


async def add_oidc_idp(
    client: httpx.AsyncClient,
    op: OpenIdProvider,
    headers: dict[str, str],
    client_id: str = "staffroom-acme",
    **extra: Any,
) -> dict[str, Any]:
    """The org's OIDC IdP at this provider, registered there with our redirect URI."""
    secret = "s3cret-" + client_id
    body = {
        "name": "Corporate OIDC",
        "issuer": op.issuer,
        "client_id": client_id,
        "client_secret": secret,
        "jit": True,
        **extra,
    }
    r = await client.post("/api/v1/sso/idps/oidc", json=body, headers=headers)
    assert r.status_code == 201, r.text
    row: dict[str, Any] = r.json()
    op.register(client_id, secret, row["redirect_uri"])
    return row


@dataclass
class Started:
    """A sign-in started at Staffroom: the IdP's URL and the cookie our start set."""

    url: str
    cookie: tuple[str, str]


async def start(client: httpx.AsyncClient, org: str = "acme", **params: str) -> Started:
    r = await client.get(f"/sso/{org}/saml/login", params=params)
    assert r.status_code == 303, r.text
    set_cookie = r.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie, set_cookie
    assert "SameSite=lax" in set_cookie or "SameSite=Lax" in set_cookie, set_cookie
    name, value = set_cookie.split(";", 1)[0].split("=", 1)
    return Started(str(r.headers["location"]), (name, value))


async def at_idp(started: Started) -> str:
    """The browser at the provider: the path and query of its redirect back to us."""
    async with httpx.AsyncClient() as browser:
        r = await browser.get(started.url)
    assert r.status_code == 302, r.text
    back = urlsplit(r.headers["location"])
    return f"{back.path}?{back.query}"


async def callback(
    client: httpx.AsyncClient, path: str, cookie: tuple[str, str] | None
) -> httpx.Response:
    headers = {"Cookie": f"{cookie[0]}={cookie[1]}"} if cookie else {}
    r = await client.get(path, headers=headers)
    assert r.status_code == 303, r.text
    return r


async def sign_in(client: httpx.AsyncClient, org: str = "acme", **params: str) -> httpx.Response:
    """The whole round trip in one browser; the callback's answer (a 303)."""
    started = await start(client, org, **params)
    return await callback(client, await at_idp(started), started.cookie)


def reason(r: httpx.Response) -> str:
    """The refusal's reason on the app's error page (or '' for a sign-in)."""
    location = str(r.headers["location"])
    return location.split("#reason=", 1)[1] if "/sso/error#reason=" in location else ""


async def attempts(
    client: httpx.AsyncClient, idp_id: str, unsigned: bool = False, org: str = "acme"
) -> list[dict[str, Any]]:
    """The SSO doctor's signed (or unsigned) attempts of the IdP, newest first, as the
    admin console reads them."""
    r = await client.get(
        f"/api/v1/sso/idps/{idp_id}/attempts",
        params={"unsigned": "true"} if unsigned else {},
        headers=auth(await login(client, org, f"admin@{org}.example")),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def doctor(
    client: httpx.AsyncClient, idp_id: str, unsigned: bool = False, org: str = "acme"
) -> list[tuple[str, str]]:
    """The doctor's (outcome, reason) of the IdP's signed (or unsigned) attempts."""
    return [(a["outcome"], a["reason"]) for a in await attempts(client, idp_id, unsigned, org)]


async def verified_domain(org_id: uuid.UUID, domain: str) -> None:
    """A domain of the org, verified (as Google's `hd` must be)."""
    now = clock.utcnow()
    await OrgDomain.insert(
        OrgDomain(id=uuid.uuid4(), org=org_id, domain=domain, verified_at=now, created_at=now)
    )
