"""Admin console, issue 20 journey 3: an IT admin claims a domain and sees the exact TXT
record to publish; a wrong value fails with "wrong value" and what was found; once the
tests' DNS server (the one `staffroom serve` asks) publishes the record, verify succeeds."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in


async def test_it_claims_a_domain_sees_a_wrong_value_then_verifies_it(
    world: World, web_server: Any, browsers: Browsers, dns_zone: dict[str, list[str]]
) -> None:
    it = await browsers.page()
    await sign_in(it, "acme", "admin@acme.example", PASSWORD)
    await it.get_by_role("link", name="Admin").click()
    await it.get_by_role("link", name="Domains").first.click()
    await expect(it.get_by_text("No domains yet.")).to_be_visible()
    await assert_accessible(it)

    # Free mail is refused in words before anything is claimed.
    await it.get_by_label("Domain", exact=True).fill("gmail.com")
    await it.get_by_role("button", name="Claim domain").click()
    await expect(it.get_by_role("alert")).to_contain_text("Free mail domains cannot be claimed.")

    await it.get_by_label("Domain", exact=True).fill("Acme-Corp.Example")
    await it.get_by_role("button", name="Claim domain").click()
    card = it.get_by_role("region", name="acme-corp.example")
    await expect(card.get_by_text("Not verified")).to_be_visible()
    value = await card.locator("dd code").nth(2).inner_text()
    assert value.startswith("staffroom-verification=") and len(value) > 30
    assert await card.locator("dd code").nth(0).inner_text() == "TXT"
    assert await card.locator("dd code").nth(1).inner_text() == "acme-corp.example"
    copy = card.get_by_role("button", name="Copy the record value for acme-corp.example")
    await expect(copy).to_be_visible()

    # Nothing published yet: the record is missing.
    await card.get_by_role("button", name="Verify acme-corp.example").click()
    await expect(card.get_by_role("alert")).to_contain_text("Record missing")

    # A stale value: "wrong value", with what the DNS server answered.
    dns_zone["acme-corp.example"] = ["v=spf1 -all", "staffroom-verification=stale-old-value"]
    await card.get_by_role("button", name="Verify acme-corp.example").click()
    alert = card.get_by_role("alert")
    await expect(alert).to_contain_text("Wrong value")
    await expect(alert).to_contain_text("staffroom-verification=stale-old-value")
    await expect(alert).to_contain_text("v=spf1 -all")
    await assert_accessible(it)
    await shoot(it, "admin-domains")

    dns_zone["acme-corp.example"] = [value]
    await card.get_by_role("button", name="Verify acme-corp.example").click()
    await expect(card.get_by_role("status")).to_have_text("acme-corp.example is verified.")
    await expect(card.get_by_text("Verified", exact=True)).to_be_visible()
    await expect(card.get_by_role("button", name="Verify acme-corp.example")).to_have_count(0)
    await assert_accessible(it)

    # At phone width, in German (the profile's language), the card fits and can be removed.
    headers = await api_token(web_server.base, "acme", "admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=headers) as client:
        assert (await client.patch("/api/v1/me", json={"locale": "de"})).status_code == 200
    phone = await browsers.page(phone=True, locale="de-DE")
    await sign_in_de(phone)
    await phone.goto("/admin/domains")
    card_de = phone.get_by_role("region", name="acme-corp.example")
    await expect(card_de.get_by_text("Bestätigt", exact=True)).to_be_visible()
    await assert_accessible(phone)
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    await card_de.get_by_role("button", name="acme-corp.example entfernen").click()
    await card_de.get_by_role("button", name="Domain entfernen").click()
    await expect(phone.get_by_text("Noch keine Domains.")).to_be_visible()
    assert not it.errors and not phone.errors  # type: ignore[attr-defined]


async def sign_in_de(page: Any) -> None:
    """The German sign-in page, as a person with de-DE types it."""
    await page.goto("/signin")
    await page.get_by_label("Dienstliche E-Mail oder Benutzername").fill("admin@acme.example")
    await page.get_by_role("button", name="Weiter").click()
    org_field = page.get_by_label("Organisations-ID")
    await org_field.or_(page.get_by_label("Passwort")).first.wait_for()
    if await org_field.count():
        await org_field.fill("acme")
    await page.get_by_label("Passwort").fill(PASSWORD)
    await page.get_by_role("button", name="Anmelden").click()
    await page.get_by_role("heading", name="Neuigkeiten").wait_for()
