"""Admin console, API keys: an IT admin creates a key with a scope and an expiry, sees it
once with a copy button; the key reads `GET /api/v1/users` (as an integration would, with
httpx) and its last use shows; once revoked in the console it stops working."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import assert_accessible, shoot, sign_in


async def test_it_creates_a_key_that_works_until_revoked(
    world: World, web_server: Any, browsers: Browsers
) -> None:
    it = await browsers.page()
    await sign_in(it, "acme", "admin@acme.example", PASSWORD)
    await it.get_by_role("link", name="Admin").click()
    await it.get_by_role("link", name="API keys").first.click()
    await expect(it.get_by_text("No API keys yet.")).to_be_visible()
    await assert_accessible(it)

    await it.get_by_label("Name", exact=True).fill("HR system sync")
    create = it.get_by_role("button", name="Create key")
    await expect(create).to_be_disabled()  # a key needs a scope
    await it.get_by_label("read people and groups").check()
    await it.get_by_label("Expires").select_option("90")
    await create.click()
    await expect(it.get_by_role("heading", name='Key "HR system sync" created')).to_be_visible()
    await expect(it.get_by_text("it is shown only once")).to_be_visible()
    await expect(it.get_by_role("button", name="Copy the key")).to_be_visible()
    key = (await it.get_by_label("The new API key").inner_text()).strip()
    assert key.startswith("sr_"), key
    await assert_accessible(it)
    await shoot(it, "admin-api-keys")

    row = it.get_by_role("row").filter(has_text="HR system sync")
    await expect(row).to_contain_text("users:read")
    await expect(row).to_contain_text("Never used")
    await expect(row).to_contain_text(key[:13])

    async with httpx.AsyncClient(base_url=web_server.base) as client:
        bearer = {"Authorization": f"Bearer {key}"}
        r = await client.get("/api/v1/users", headers=bearer)
        assert r.status_code == 200, r.text
        assert "admin@acme.example" in r.text
        # The scope is the limit: no invitations with a users:read key.
        assert (await client.get("/api/v1/invites", headers=bearer)).status_code == 403

        # Once dismissed, the key is not shown again; its last use is.
        await it.get_by_role("button", name="I have copied the key").click()
        await expect(it.get_by_text(key)).to_have_count(0)
        await it.reload()
        await expect(row).not_to_contain_text("Never used")

        await row.get_by_role("button", name="Revoke HR system sync").click()
        await expect(it.get_by_role("status")).to_have_text(
            'Key "HR system sync" revoked: it no longer works.'
        )
        await expect(row).to_contain_text("Revoked")
        r = await client.get("/api/v1/users", headers=bearer)
        assert r.status_code == 401, r.text

    # At phone width the page fits.
    await it.set_viewport_size({"width": 375, "height": 740})
    await it.get_by_role("heading", name="API keys", level=1).wait_for()
    assert await it.evaluate("document.documentElement.scrollWidth") <= 375
    assert not it.errors  # type: ignore[attr-defined]
