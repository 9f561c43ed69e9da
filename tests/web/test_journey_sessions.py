"""Journey 6: a session signed out in one tab, or revoked from another device, sends the
other tab to sign-in at once; a member opening another organisation's post by its URL sees
"not found"."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, sign_in


async def test_signing_out_in_one_tab_signs_out_the_other(world: World, browsers: Browsers) -> None:
    first = await browsers.page()
    await sign_in(first, "acme", "member@acme.example", PASSWORD)
    # A second tab of the same browser is signed in from the refresh cookie.
    second = await first.context.new_page()
    await second.goto("/chat")
    await expect(second.get_by_role("heading", name="Chat")).to_be_visible()
    await first.get_by_role("button", name="Sign out").click()
    await expect(first.get_by_role("heading", name="Signed out")).to_be_visible()
    await expect(second.get_by_role("heading", name="Sign in")).to_be_visible()
    # And a reload does not bring the session back.
    await second.goto("/feed")
    await expect(second.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_a_session_revoked_from_another_device_ends_at_once(
    world: World, browsers: Browsers
) -> None:
    laptop = await browsers.page()
    await sign_in(laptop, "acme", "member@acme.example", PASSWORD)
    await expect(laptop.get_by_role("status").filter(has_text="Live")).to_be_visible()
    phone = await browsers.page(phone=True)
    await sign_in(phone, "acme", "member@acme.example", PASSWORD)
    await phone.get_by_role("link", name="Me").click()
    sessions = phone.get_by_role("region", name="Where you are signed in")
    await expect(sessions.get_by_role("listitem")).to_have_count(2)
    await sessions.get_by_role("button", name="Sign out", exact=True).click()
    await expect(sessions.get_by_role("listitem")).to_have_count(1)
    # The laptop's open feed hears of it over its socket and goes to sign-in.
    await expect(laptop.get_by_role("heading", name="Sign in")).to_be_visible()
    await laptop.goto("/feed")
    await expect(laptop.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_another_orgs_post_is_not_found(
    world: World, web_server: Any, browsers: Browsers
) -> None:
    globex = await api_token(web_server.base, "globex", "editor@globex.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=globex) as api:
        channel = (await api.post("/api/v1/channels", json={"name": "Globex only"})).json()
        post = (
            await api.post(
                f"/api/v1/channels/{channel['id']}/posts",
                json={"title": "Globex secrets", "body": "Quarterly numbers"},
            )
        ).json()
    page = await browsers.page()
    await sign_in(page, "acme", "member@acme.example", PASSWORD)
    await page.goto(f"/posts/{post['id']}")
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await expect(page.get_by_text("Globex secrets")).to_have_count(0)
    await assert_accessible(page)
