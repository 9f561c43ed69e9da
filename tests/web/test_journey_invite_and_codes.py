"""Journeys 2 and 3: an invitation email's link → a password → the feed (the same link
again says it was used; an expired one says to ask for a new one), and a printed access
code typed on the redemption page or opened from its QR code's link."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect

from staffroom.core import clock
from staffroom.onboarding.tables import Invite
from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, mailed_link, shoot

NEW_PASSWORD = "Lantern-Orchard-Biscuit-31"


async def _invite(base: str, email: str) -> None:
    hr = await api_token(base, "acme", "hr_admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=base, headers=hr) as client:
        r = await client.post("/api/v1/invites", json={"email": email, "display_name": "Nia Hire"})
        assert r.status_code == 201, r.text


async def test_an_invitation_link_opens_the_account_once(
    world: World, web_server: Any, browsers: Browsers, outbox: Path
) -> None:
    await _invite(web_server.base, "nia@acme.example")
    link = await mailed_link(outbox, "nia@acme.example", r"http://\S+/invite#token=[\w-]+")
    page = await browsers.page()
    await page.goto(link)
    invited = page.get_by_text("Hr_Admin invites you to join Acme on Staffroom.")
    await expect(invited).to_be_visible()
    await expect(page.get_by_text("Your account will use nia@acme.example.")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "invite")
    await expect(page.get_by_label("Your name as colleagues see it")).to_have_value("Nia Hire")
    await page.get_by_label("New password").fill("short")
    await page.get_by_role("button", name="Join").click()
    # The browser's own check first: a short password never reaches the server.
    assert await page.get_by_label("New password").evaluate("e => !e.validity.valid")
    await page.get_by_label("New password").fill("password123")
    await page.get_by_role("button", name="Join").click()
    await expect(page.get_by_role("alert")).to_contain_text("too common")
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Join").click()
    await expect(page.get_by_role("heading", name="News")).to_be_visible()
    assert page.url.endswith("/feed")

    # The same link again, in another browser: used, with the way forward.
    other = await browsers.page()
    await other.goto(link)
    await expect(other.get_by_role("alert")).to_have_text(
        "This invitation has already been used. Sign in instead."
    )
    await assert_accessible(other)
    await expect(other.get_by_role("link", name="Go to sign-in")).to_be_visible()

    # An expired invitation says so and what to do.
    await _invite(web_server.base, "late@acme.example")
    late = await mailed_link(outbox, "late@acme.example", r"http://\S+/invite#token=[\w-]+")
    await Invite.update({Invite.expires_at: clock.utcnow() - timedelta(hours=1)}).where(
        Invite.email == "late@acme.example"
    )
    await other.goto(late)
    await expect(other.get_by_role("alert")).to_have_text("This invitation has expired.")
    await expect(
        other.get_by_text("Ask the person who invited you to send a new invitation.")
    ).to_be_visible()
    assert page.errors == [] and other.errors == []  # type: ignore[attr-defined]


async def test_an_access_code_typed_or_scanned_opens_an_account(
    world: World, web_server: Any, browsers: Browsers
) -> None:
    hr = await api_token(web_server.base, "acme", "hr_admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=hr) as client:
        r = await client.post("/api/v1/access-codes", json={"count": 2, "label": "Depot"})
        assert r.status_code == 201, r.text
        typed, scanned = r.json()["codes"]

    page = await browsers.page(phone=True)
    await page.goto("/signin")
    await page.get_by_role("link", name="I have an access code").click()
    await expect(page.get_by_role("heading", name="Join with an access code")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "redeem")
    await page.get_by_label("Organisation ID").fill("acme")
    # Typed as people do: lower case, spaces instead of dashes.
    code_field = page.get_by_role("textbox", name="Access code")
    await code_field.fill(typed["code"].lower().replace("-", " "))
    await page.get_by_label("Username").fill("forklift-fran")
    await page.get_by_label("Your name as colleagues see it").fill("Fran")
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Join").click()
    await expect(page.get_by_role("heading", name="News")).to_be_visible()

    # The card's QR code opens the page with the organisation and code filled in.
    other = await browsers.page(phone=True)
    await other.goto(scanned["redeem_link"].replace("https://staffroom.test", web_server.base))
    await expect(other.get_by_label("Organisation ID")).to_have_value("acme")
    await expect(other.get_by_role("textbox", name="Access code")).to_have_value(scanned["code"])
    await other.get_by_label("Username").fill("pallet-pat")
    await other.get_by_label("Your name as colleagues see it").fill("Pat")
    await other.get_by_label("New password").fill(NEW_PASSWORD)
    await other.get_by_role("button", name="Join").click()
    await expect(other.get_by_role("heading", name="News")).to_be_visible()
    # The code is gone from the address bar once used.
    assert "code=" not in other.url

    # A used code says so.
    third = await browsers.page(phone=True)
    await third.goto(scanned["redeem_link"].replace("https://staffroom.test", web_server.base))
    await third.get_by_label("Username").fill("someone-else")
    await third.get_by_label("Your name as colleagues see it").fill("Someone")
    await third.get_by_label("New password").fill(NEW_PASSWORD)
    await third.get_by_role("button", name="Join").click()
    await expect(third.get_by_role("alert")).to_have_text("This code has already been used.")
