"""T19 in a real browser: an app (authlib's httpx client, independent of the code under
test) sends a person to the consent page; they sign in, see the app, the organisation
and each scope in words, allow it, and the browser lands on the app's loopback redirect
URI with a code; the app exchanges it (PKCE) and calls the API with the token. Under Me
→ Connected apps the person disconnects it and the token stops at once. The admin
console registers an app, shows its secret once and disables it."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from playwright.async_api import expect

from tests.oauth.helpers import new_verifier
from tests.support.servers import free_port
from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in


class _Callback(http.server.BaseHTTPRequestHandler):
    """The app's loopback redirect URI: it answers a plain page (the code is in the URL)."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>Rota planner</title><p>Signed in.</p>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def callback() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback"
    server.shutdown()
    server.server_close()


async def test_a_person_allows_an_app_then_disconnects_it(
    world: World, web_server: Any, browsers: Browsers, callback: str
) -> None:
    base = web_server.base
    admin = await api_token(base, "acme", "admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=base) as api:
        r = await api.post(
            "/api/v1/oauth/clients",
            json={
                "name": "Rota planner",
                "kind": "public",
                "scopes": ["users:read", "feeds:read"],
                "redirect_uris": [callback],
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        client_id = r.json()["client"]["client_id"]

    verifier = new_verifier()
    app = AsyncOAuth2Client(
        client_id=client_id,
        redirect_uri=callback,
        scope="users:read feeds:read",
        code_challenge_method="S256",
    )
    url, state = app.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)

    page = await browsers.page()
    await page.goto(url)
    # Not signed in: the sign-in page first, then back to the app's request.
    await page.get_by_label("Work email or username").fill("member@acme.example")
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Organisation ID").fill("acme")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("heading", name="Allow Rota planner?")).to_be_visible()
    await expect(
        page.get_by_text("Rota planner asks to use Staffroom on your behalf in Acme.")
    ).to_be_visible()
    await expect(page.get_by_text("see the staff directory and groups")).to_be_visible()
    await expect(page.get_by_text("read the news feed")).to_be_visible()
    await expect(page.get_by_text("sent back to 127.0.0.1:")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "oauth-consent")

    await page.get_by_role("button", name="Allow").click()
    await page.wait_for_url(f"{callback}?**")
    assert "code=" in page.url and f"state={state}" in page.url

    app.base_url = httpx.URL(base)
    async with app:
        token = await app.fetch_token(
            f"{base}/api/v1/oauth/token",
            authorization_response=page.url,
            code_verifier=verifier,
            state=state,
        )
        r = await app.get("/api/v1/users")
        assert r.status_code == 200 and "member@acme.example" in r.text, r.text
        assert (await app.get("/api/v1/feed")).status_code == 200

    # Under Me, the app is listed with what it may do; disconnecting ends its token.
    await page.goto("/me")
    apps = page.get_by_role("region", name="Connected apps").or_(
        page.locator("section", has=page.get_by_role("heading", name="Connected apps"))
    )
    await expect(apps.first).to_contain_text("Rota planner")
    await expect(apps.first).to_contain_text("read the news feed")
    await assert_accessible(page)
    await page.get_by_role("button", name="Disconnect Rota planner").click()
    await expect(page.get_by_text("Rota planner is disconnected")).to_be_visible()
    async with httpx.AsyncClient(base_url=base) as api:
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        assert (await api.get("/api/v1/users", headers=bearer)).status_code == 401
    assert not page.errors  # type: ignore[attr-defined]


async def test_it_registers_an_app_and_disables_it(world: World, browsers: Browsers) -> None:
    it = await browsers.page()
    await sign_in(it, "acme", "admin@acme.example", PASSWORD)
    await it.goto("/admin/oauth-apps")
    await expect(it.get_by_role("heading", name="OAuth apps", level=1)).to_be_visible()
    await expect(it.get_by_text("No OAuth apps yet.")).to_be_visible()
    await it.get_by_label("Name", exact=True).fill("Payroll bridge")
    await it.get_by_label("Redirect URIs").fill("https://payroll.example/oauth/callback")
    await it.get_by_label("read people and groups").check()
    await it.get_by_role("button", name="Register app").click()
    await expect(it.get_by_role("heading", name='App "Payroll bridge" is ready')).to_be_visible()
    secret = (await it.get_by_label("The client secret", exact=True).inner_text()).strip()
    assert len(secret) >= 43
    await expect(it.get_by_role("button", name="Copy the client secret")).to_be_visible()
    await assert_accessible(it)
    await shoot(it, "admin-oauth-apps")

    await it.get_by_role("button", name="Done").click()
    await expect(it.get_by_text(secret)).to_have_count(0)
    row = it.get_by_role("row").filter(has_text="Payroll bridge")
    await expect(row).to_contain_text("users:read")
    await expect(row).to_contain_text("Never used")
    await row.get_by_role("button", name="Disable Payroll bridge").click()
    await expect(it.get_by_role("status")).to_have_text(
        '"Payroll bridge" is disabled: every token it held is revoked.'
    )
    await expect(row).to_contain_text("Disabled")
    await it.set_viewport_size({"width": 375, "height": 740})
    assert await it.evaluate("document.documentElement.scrollWidth") <= 375
    assert not it.errors  # type: ignore[attr-defined]
