"""Journey 7: a browser asking for German gets the pages of the journeys in German; the
profile's language wins over the browser's. Sign-in and sending a message work by
keyboard alone."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, mailed_link, shoot


async def _keyboard_sign_in(page: Page, org: str, login: str, password: str = PASSWORD) -> None:
    """Sign-in by keyboard alone: the first field has the focus, Enter submits."""
    await page.goto("/signin")
    await expect(page.locator("input[name=login]")).to_be_focused()
    await page.keyboard.type(login)
    await page.keyboard.press("Enter")
    await page.locator("input[name=org]").wait_for()
    await page.keyboard.press("Tab")  # past "Ändern" to the organisation
    await page.locator("input[name=org]").focus()
    await page.keyboard.type(org)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def test_the_app_in_german_and_by_keyboard(
    world: World, web_server: Any, browsers: Browsers, outbox: Any
) -> None:
    hr = await api_token(web_server.base, "acme", "hr_admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=hr) as api:
        r = await api.post("/api/v1/invites", json={"email": "lena@acme.example"})
        assert r.status_code == 201, r.text
    link = await mailed_link(outbox, "lena@acme.example", r"http://\S+/invite#token=[\w-]+")

    page = await browsers.page(locale="de-DE")
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Sie sind eingeladen")).to_be_visible()
    await expect(page.get_by_role("button", name="Beitreten")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_label("Ihr Name, wie Kolleginnen und Kollegen ihn sehen").fill("Lena")
    await page.get_by_label("Neues Passwort").fill("Apfel-Strudel-Kanne-58")
    await page.get_by_role("button", name="Beitreten").click()
    await expect(page.get_by_role("heading", name="Neuigkeiten")).to_be_visible()
    # She joined in German: her profile says so from now on (and so do her emails).
    await page.get_by_role("button", name="Abmelden").first.click()
    await expect(page.get_by_role("heading", name="Abgemeldet")).to_be_visible()
    await page.goto("/redeem")
    await expect(page.get_by_role("heading", name="Mit Zugangscode beitreten")).to_be_visible()
    await assert_accessible(page)
    await page.goto("/signin")
    await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == "de"
    await shoot(page, "signin-de")

    await _keyboard_sign_in(page, "acme", "lena@acme.example", "Apfel-Strudel-Kanne-58")
    await expect(page.get_by_role("heading", name="Neuigkeiten")).to_be_visible()
    await expect(page.get_by_text("Noch keine Neuigkeiten.")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("link", name="Chat").click()
    await expect(page.get_by_role("link", name="Neue Unterhaltung")).to_be_visible()
    await page.get_by_role("link", name="Neue Unterhaltung").click()
    await page.get_by_label("Kolleginnen und Kollegen finden").fill("Editor")
    await page.get_by_role("button", name="+ Editor").click()
    await page.get_by_role("button", name="Unterhaltung beginnen").click()
    # Sending by keyboard: the composer, typed, Enter.
    composer = page.get_by_role("textbox", name="Nachricht schreiben")
    await composer.focus()
    await page.keyboard.type("Guten Morgen!")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("list", name="Nachrichten")).to_contain_text("Guten Morgen!")
    await assert_accessible(page)
    await shoot(page, "chat-de")
    await page.get_by_role("link", name="Ich").click()
    await expect(page.get_by_role("heading", name="Mein Konto")).to_be_visible()
    await expect(page.get_by_role("heading", name="Bestätigung in zwei Schritten")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("button", name="Abmelden").first.click()
    await expect(page.get_by_role("heading", name="Abgemeldet")).to_be_visible()


async def test_the_profiles_language_wins_over_the_browsers(
    world: World, browsers: Browsers
) -> None:
    page = await browsers.page(locale="en-GB")
    await _keyboard_sign_in(page, "acme", "member@acme.example")
    await expect(page.get_by_role("heading", name="News")).to_be_visible()
    await page.get_by_role("link", name="Me").click()
    await page.get_by_label("Language").select_option("de")
    await page.get_by_role("button", name="Save").first.click()
    await expect(page.get_by_role("heading", name="Mein Konto")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", name="Mein Konto")).to_be_visible()
