"""Admin console: HR finds a person by employee id, sees their account, deactivates them
after being told what it ends (their session stops working at once) and reactivates them;
and invites one person from the console."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect

from staffroom.accounts.tables import User
from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, mailed_link, sign_in


async def test_hr_deactivates_and_reactivates_a_person_and_invites_one(
    world: World, web_server: Any, browsers: Browsers, outbox: Path
) -> None:
    await User.update({User.employee_id: "W-40417"}).where(User.id == world.acme["member"].id)
    member = await api_token(web_server.base, "acme", "member@acme.example", PASSWORD)
    hr = await browsers.page()
    await sign_in(hr, "acme", "hr_admin@acme.example", PASSWORD)
    await hr.goto("/admin/people")
    await hr.get_by_label("Search by name, email or employee ID").fill("w-404")
    rows = hr.get_by_role("row")
    await expect(rows).to_have_count(2)
    await rows.get_by_role("link", name="Member").click()
    await expect(hr.get_by_role("heading", name="Member")).to_be_visible()
    await expect(hr.get_by_text("Not set up")).to_be_visible()  # 2FA
    await expect(hr.get_by_text("they are signed out on every device")).to_be_visible()
    await assert_accessible(hr)

    await hr.get_by_role("button", name="Deactivate…").click()
    await expect(hr.get_by_text("Deactivate Member now?")).to_be_visible()
    await hr.get_by_role("button", name="Deactivate Member").click()
    await expect(hr.get_by_role("heading", name="Reactivate")).to_be_visible()
    await expect(
        hr.get_by_role("heading", name="Member").get_by_text("Deactivated")
    ).to_be_visible()
    async with httpx.AsyncClient(base_url=web_server.base, headers=member) as client:
        assert (await client.get("/api/v1/me")).status_code == 401
    await hr.get_by_role("button", name="Reactivate").click()
    await expect(hr.get_by_role("heading", name="Member").get_by_text("Active")).to_be_visible()
    await api_token(web_server.base, "acme", "member@acme.example", PASSWORD)

    await hr.get_by_role("link", name="All people").click()
    await hr.get_by_role("link", name="Invite someone").click()
    await hr.get_by_label("Email").fill("ola@acme.example")
    await hr.get_by_label("Name").fill("Ola Neu")
    await assert_accessible(hr)
    await hr.get_by_role("button", name="Send invitation").click()
    sent = hr.get_by_role("status").filter(has_text="Invitation sent")
    await expect(sent).to_have_text("Invitation sent to ola@acme.example.")
    row = hr.get_by_role("row").filter(has_text="ola@acme.example")
    await expect(row.get_by_text("Pending")).to_be_visible()
    await mailed_link(outbox, "ola@acme.example", r"http://\S+/invite#token=[\w-]+")
    await row.get_by_role("button", name="Withdraw the invitation of ola@acme.example").click()
    withdrawn = hr.get_by_role("status").filter(has_text="withdrawn")
    await expect(withdrawn).to_have_text("The invitation of ola@acme.example is withdrawn.")
    await expect(row).to_have_count(0)
    assert hr.errors == []  # type: ignore[attr-defined]
