"""A real IdP (pysaml2) for the SSO tests, and the steps of a browser login."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from staffroom.sso import saml
from tests.support.flows import auth
from tests.support.idp import BASE, TestIdp
from tests.support.world import login


@pytest.fixture(scope="session")
def idp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("idp")


@pytest.fixture(scope="session")
def sp_metadata() -> list[str]:
    return [saml.sp_metadata(saml.SpConfig(f"{BASE}/{org}/saml")) for org in ("acme", "globex")]


@pytest.fixture(scope="session")
def idp(idp_dir: Path, sp_metadata: list[str]) -> TestIdp:
    return TestIdp(idp_dir, "entra", sp_metadata)


@pytest.fixture(scope="session")
def other_idp(idp_dir: Path, sp_metadata: list[str]) -> TestIdp:
    return TestIdp(idp_dir, "okta", sp_metadata)


async def admin(client: httpx.AsyncClient, org: str = "acme") -> dict[str, str]:
    return auth(await login(client, org, f"admin@{org}.example"))


async def configure(
    client: httpx.AsyncClient, idp: TestIdp, org: str = "acme", **extra: Any
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/sso/idps", json=idp.settings(**extra), headers=await admin(client, org)
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def start(client: httpx.AsyncClient, org: str = "acme", **params: str) -> str:
    r = await client.get(f"/sso/{org}/saml/login", params=params)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


async def post_acs(
    client: httpx.AsyncClient, saml_response: str, relay_state: str | None, org: str = "acme"
) -> httpx.Response:
    form = {"SAMLResponse": saml_response}
    if relay_state is not None:
        form["RelayState"] = relay_state
    return await client.post(f"/sso/{org}/saml/acs", data=form)


def fragment(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(location).fragment).items()}


async def browser_login(
    client: httpx.AsyncClient,
    idp: TestIdp,
    org: str = "acme",
    idp_id: str | None = None,
    **respond: Any,
) -> httpx.Response:
    """Start at Staffroom, 'sign in' at the IdP, post its response back to the ACS."""
    location = await start(
        client, org, **({"idp": idp_id} if idp_id else {"email": "x@acme.example"})
    )
    request_id, relay_state = idp.read_request(location)
    return await post_acs(client, idp.respond(request_id, org=org, **respond), relay_state, org)


async def exchange(client: httpx.AsyncClient, acs_response: httpx.Response) -> httpx.Response:
    assert acs_response.status_code == 303, acs_response.text
    code = fragment(acs_response.headers["location"])["code"]
    return await client.post("/api/v1/auth/sso/exchange", json={"code": code})
