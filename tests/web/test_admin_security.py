"""Admin console, security: an IT admin ends a person's session from their page (that
person's open app goes to sign-in at once); makes a custom role with two permissions and
gives it to someone (who then holds exactly those); sees how many have not set up 2FA,
who they are, and requires it."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from tests.support.flows import code_now
from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in


async def test_a_session_ended_from_the_person_page_signs_them_out(
    world: World, browsers: Browsers
) -> None:
    member = await browsers.page()
    await sign_in(member, "acme", "member@acme.example", PASSWORD)
    await expect(member.get_by_role("status").filter(has_text="Live")).to_be_visible()

    it = await browsers.page()
    await sign_in(it, "acme", "admin@acme.example", PASSWORD)
    await it.goto(f"/admin/people/{world.acme['member'].id}")
    sessions = it.get_by_role("region", name="Sessions")
    rows = sessions.get_by_role("row")
    await expect(rows).to_have_count(2)  # the header and the member's browser
    await expect(rows.nth(1)).to_contain_text("Chrome · Linux")
    sign_in_panel = it.get_by_role("region", name="Sign-in and 2FA")
    await expect(sign_in_panel).to_contain_text("Password")
    await expect(sign_in_panel).to_contain_text("Not linked")
    await assert_accessible(it)
    await shoot(it, "admin-person")

    await rows.nth(1).get_by_role("button", name="Sign out").click()
    await expect(sessions.get_by_role("status")).to_have_text(
        "The session on Chrome · Linux is ended."
    )
    await expect(sessions.get_by_text("Not signed in anywhere.")).to_be_visible()
    # The member's open app hears of it and goes to sign-in; so does their next step.
    await expect(member.get_by_role("heading", name="Sign in")).to_be_visible()
    await member.goto("/chat")
    await expect(member.get_by_role("heading", name="Sign in")).to_be_visible()
    assert it.errors == []  # type: ignore[attr-defined]


async def test_a_custom_role_with_two_permissions_is_made_and_given(
    world: World, web_server: Any, browsers: Browsers
) -> None:
    it = await browsers.page()
    await sign_in(it, "acme", "admin@acme.example", PASSWORD)
    await it.goto("/admin/security")
    roles = it.get_by_role("region", name="Roles and permissions")
    await roles.get_by_role("button", name="New role").click()
    form = roles.get_by_role("form", name="New role")
    await form.get_by_label("Role", exact=True).fill("Shift leads")
    await form.get_by_label("See the staff directory").check()
    await form.get_by_label("Publish posts").check()
    # What only an owner holds cannot be given by an IT admin.
    await expect(form.get_by_label("Export and erase personal data, run backups")).to_be_disabled()
    await assert_accessible(it)
    await form.get_by_role("button", name="Create role").click()
    await expect(roles.get_by_role("status")).to_have_text("The role Shift leads is created.")
    row = roles.get_by_role("row").filter(has_text="Shift leads")
    await expect(row).to_contain_text("2 permissions")
    await row.get_by_text("2 permissions").click()
    await expect(row.get_by_role("listitem")).to_have_text(
        ["Publish posts", "See the staff directory"]
    )

    await it.goto(f"/admin/people/{world.acme['editor'].id}")
    await it.get_by_label("Role", exact=True).select_option(label="Shift leads")
    await it.get_by_role("button", name="Save").first.click()
    await expect(it.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    headers = await api_token(web_server.base, "acme", "editor@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=headers) as client:
        me = (await client.get("/api/v1/me")).json()
    assert me["role"] == "shift_leads"
    assert me["permissions"] == ["feeds.publish", "users.read"]

    # Held by someone, it cannot be deleted; the console says why.
    await it.goto("/admin/security")
    row = roles.get_by_role("row").filter(has_text="Shift leads")
    await row.get_by_role("button", name="Delete the role Shift leads").click()
    await row.get_by_role("button", name="Delete Shift leads").click()
    await expect(roles.get_by_role("alert")).to_have_text(
        "People still hold this role: give them another role first."
    )
    assert it.errors == []  # type: ignore[attr-defined]


async def test_2fa_enforcement_shows_who_has_not_enrolled(
    world: World, web_server: Any, browsers: Browsers
) -> None:
    headers = await api_token(web_server.base, "acme", "member@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=headers) as client:
        secret = (await client.post("/api/v1/me/mfa/totp")).json()["secret"]
        r = await client.post("/api/v1/me/mfa/totp/confirm", json={"code": code_now(secret)})
        assert r.status_code == 200, r.text
    active = len(world.acme.people)

    it = await browsers.page()
    await sign_in(it, "acme", "admin@acme.example", PASSWORD)
    await it.goto("/admin/security")
    panel = it.get_by_role("region", name="Two-step verification (2FA)")
    await expect(panel.get_by_role("status")).to_have_text(
        f"{active - 1} of {active} active people have not set up 2FA. Show them"
    )
    await assert_accessible(it)
    await shoot(it, "admin-security")
    await panel.get_by_role("link", name="Show them").click()
    await expect(it.get_by_label("Two-step verification")).to_have_value("off")
    people = it.get_by_role("table", name="People").get_by_role("row")
    await expect(people).to_have_count(active)  # the header and everyone but the member
    await expect(people.filter(has_text="member@acme.example")).to_have_count(0)

    await it.go_back()
    await panel.get_by_label("Require 2FA for everyone").check()
    # The admin has no 2FA: they are told that saving sends them to set it up, and it does.
    await expect(panel.get_by_text("You have not set up 2FA yourself")).to_be_visible()
    await panel.get_by_role("button", name="Save").click()
    await expect(it.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
    async with httpx.AsyncClient(base_url=web_server.base, headers=headers) as client:
        assert (await client.get("/api/v1/org")).json()["require_mfa"] is True
    assert it.errors == []  # type: ignore[attr-defined]
