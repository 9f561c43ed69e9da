"""Journey 1: the owner's setup link → a password → 2FA enrolment (the test is the
authenticator app) → sign-out → sign-in with a TOTP code → sign-in with a recovery code."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from staffroom.accounts.service import orgs
from tests.web.conftest import Browsers
from tests.web.journeys import assert_accessible, next_totp, shoot, totp_now

PASSWORD = "Copper-Kettle-Morning-77"


async def test_owner_sets_up_the_account_and_two_step_verification(
    rt: Any, browsers: Browsers
) -> None:
    _, _, link = await orgs.create_org(rt, "initech", "Initech", "it@initech.example", "Ines Tech")
    page = await browsers.page()
    await page.goto("/setup#" + link.split("#", 1)[1])
    await expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "setup")
    await page.get_by_label("New password").fill(PASSWORD)
    await page.get_by_role("button", name="Save password").click()
    await expect(page.get_by_text("Your password is set")).to_be_visible()
    # The token left the address bar once used.
    assert "token" not in page.url

    # Sign in: no domain is bound, so the organisation is typed.
    await page.get_by_role("link", name="Sign in").click()
    await page.get_by_label("Work email or username").fill("it@initech.example")
    await page.get_by_role("button", name="Continue").click()
    await assert_accessible(page)
    await page.get_by_label("Organisation ID").fill("initech")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="News")).to_be_visible()

    # Enrol in 2FA under Me.
    await page.get_by_role("link", name="Me").click()
    await expect(page.get_by_role("heading", name="My account")).to_be_visible()
    await page.get_by_role("button", name="Turn on").click()
    await page.get_by_role("button", name="Set up my authenticator app").click()
    await expect(page.get_by_role("img", name="QR code")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "mfa-enrol")
    secret = (await page.get_by_test_id("totp-secret").inner_text()).strip()
    first = totp_now(secret)
    await page.get_by_label("Code from your app").fill(first)
    await page.get_by_role("button", name="Confirm", exact=True).click()
    codes = page.locator(".codes code")
    await expect(codes).to_have_count(10)
    recovery = [c.strip() for c in await codes.all_inner_texts()]
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download codes").click()
    saved = await (await download.value).path()
    assert saved is not None and open(saved).read().split() == recovery
    await page.get_by_role("button", name="I have saved them").click()
    await expect(page.get_by_text("Two-step verification is on.")).to_be_visible()

    # Sign out, and back in with a code from the app.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Signed out")).to_be_visible()
    await page.goto("/feed")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Work email or username").fill("it@initech.example")
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Organisation ID").fill("initech")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    await page.get_by_label("Code from your app").fill(await next_totp(secret, first))
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("heading", name="News")).to_be_visible()
    assert page.url.endswith("/feed")

    # Once more with a recovery code instead of the phone.
    await page.get_by_role("button", name="Sign out").click()
    await page.goto("/signin")
    await page.get_by_label("Work email or username").fill("it@initech.example")
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Organisation ID").fill("initech")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("button", name="Use a recovery code instead").click()
    await page.get_by_label("Recovery code").fill(recovery[0])
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("heading", name="News")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]
