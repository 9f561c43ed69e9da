"""OpenID Connect in the browser: an IT admin adds the org's OIDC IdP in the console's SSO
wizard (the protocol, the preset, the redirect URI to copy, issuer and client), tries it
with a test sign-in in a new window (nobody signed in or created), turns it on, and an
employee signs in through it from the sign-in page and lands in the feed. The
IdP is the tests' local OpenID provider (tests/support/oidc_op.py), reached by the browser
and by the server over 127.0.0.1. Axe on the wizard and the IdP's page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.support.oidc_op import OpenIdProvider
from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in


@pytest.fixture
def op() -> Iterator[OpenIdProvider]:
    provider = OpenIdProvider().start()
    yield provider
    provider.stop()


async def test_an_admin_adds_an_oidc_idp_and_an_employee_signs_in_through_it(
    world: World,
    web_server: Any,
    browsers: Browsers,
    dns_zone: dict[str, list[str]],
    op: OpenIdProvider,
) -> None:
    base = web_server.base
    headers = await api_token(base, "acme", "admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        # The org's domain, so that the sign-in page finds its SSO from the address.
        claim = (await api.post("/api/v1/domains", json={"domain": "acme.example"})).json()
        dns_zone["acme.example"] = [claim["verification"]["value"]]
        assert (await api.post(f"/api/v1/domains/{claim['id']}/verify")).status_code == 200
    redirect_uri = f"{base}/sso/acme/oidc/callback"
    op.register("staffroom-acme", "s3cret-acme", redirect_uri)

    it = await browsers.page()
    await sign_in(it, "acme", "admin@acme.example", PASSWORD)
    await it.goto("/admin/sso/new")
    await it.get_by_role("radio", name="OpenID Connect").check()
    await it.get_by_role("radio", name="Okta").check()
    await expect(it.get_by_text("Okta Admin Console", exact=False)).to_be_visible()
    await expect(it.get_by_text(redirect_uri, exact=True)).to_be_visible()
    await expect(it.get_by_role("button", name="Copy the Redirect URI")).to_be_visible()
    await it.get_by_label("Issuer URL").fill(op.issuer)
    await it.get_by_label("Client ID").fill("staffroom-acme")
    await it.get_by_label("Client secret").fill("s3cret-acme")
    await expect(it.get_by_label("Scopes")).to_have_value("openid email profile groups")
    await assert_accessible(it)
    await shoot(it, "admin-sso-oidc-wizard")
    await it.get_by_role("button", name="Add identity provider").click()
    await expect(it.get_by_role("heading", name="Okta", level=1)).to_be_visible()
    # Just added: what to register at the IdP is open, the secret only said to be set.
    await expect(it.get_by_text(redirect_uri, exact=True)).to_be_visible()
    await expect(it.get_by_text("set (not shown)")).to_be_visible()
    await expect(it.get_by_text("s3cret-acme")).to_have_count(0)

    await it.get_by_label("Create an account at a person's first sign-in").check()
    accounts = it.get_by_role("region", name="Accounts and two-step sign-in")
    await accounts.get_by_role("button", name="Save").click()
    await expect(accounts.get_by_role("status")).to_have_text("Saved.")

    # A test sign-in while the IdP is still off: a real sign-in at the provider in a new
    # window (it approves Ada at once), which signs nobody in and creates nobody.
    async with it.expect_popup() as opened:
        await it.get_by_role("button", name="Test sign-in").click()
    popup = await opened.value
    await expect(popup.get_by_role("heading", name="Test sign-in")).to_be_visible()
    await expect(popup.get_by_text("Test succeeded.")).to_be_visible()
    tested = it.get_by_role("region", name="Test sign-in")
    await expect(tested.get_by_role("status")).to_contain_text(
        "Test succeeded. Every check passed: an account would be created"
    )
    await popup.close()
    mapping = it.get_by_role("region", name="Attributes and groups")
    await expect(mapping.get_by_text("Preview with the attributes of 00u-ada-4711")).to_be_visible()
    await expect(mapping.get_by_role("cell", name="ada@acme.example", exact=False)).to_be_visible()
    await shoot(it, "admin-sso-oidc-test")
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        found = (await api.get("/api/v1/users", params={"q": "ada"})).json()["items"]
        assert found == []
    await it.get_by_role("button", name="Turn on").click()
    await expect(it.get_by_text("Turned on: people of your organisation")).to_be_visible()
    await assert_accessible(it)
    await shoot(it, "admin-sso-oidc-idp")

    # Ada signs in at the provider (it approves her at once) and lands in the feed.
    ada = await browsers.page()
    await ada.goto("/signin")
    await ada.get_by_label("Work email or username").fill("ada@acme.example")
    await ada.get_by_role("button", name="Continue").click()
    await ada.get_by_role("link", name="Continue with Acme single sign-on").click()
    await expect(ada.get_by_role("heading", name="News")).to_be_visible()
    assert op.token_requests and op.token_requests[-1]["code_verifier"]
    async with httpx.AsyncClient(base_url=base, headers=headers) as api:
        found = (await api.get("/api/v1/users", params={"q": "ada"})).json()["items"]
        assert [u["email"] for u in found] == ["ada@acme.example"]
    assert not it.errors and not ada.errors  # type: ignore[attr-defined]
