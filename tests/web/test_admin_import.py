"""Admin console, journey 1: HR imports a CSV of 51 rows with bad ones. The dry run's table
shows each problem and sends nothing; sending invites the good rows; an invitee accepts in
another browser and appears as active in HR's open people list without a reload (the list
refetches every few seconds while shown)."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect

from staffroom.accounts.tables import OrgDomain
from staffroom.core import clock
from staffroom.onboarding.tables import Invite
from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, mailed_link, shoot, sign_in

NEW_PASSWORD = "Lantern-Orchard-Biscuit-31"
GOOD = 44
BAD = [
    # (email cell, name, role, groups, what the table says)
    ("not-an-address", "Typo Tom", "", "", "Invalid address"),
    ("n3@acme.example", "Twice Tina", "", "", "Duplicate row"),
    ("member@acme.example", "Already Here", "", "", "Already a member"),
    ("pat@elsewhere.example", "Outside Pat", "", "", "Domain not allowed"),
    ("wiz@acme.example", "Wizard Wil", "wizard", "", "Unknown role"),
    ("lost@acme.example", "Lost Lou", "", "Nowhere", "Unknown group"),
    ("calc@acme.example", "=HYPERLINK(1)", "", "", "Spreadsheet formula"),
]


def _staff_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "display_name", "role", "groups", "employee_id"])
    for n in range(1, GOOD + 1):
        writer.writerow([f"n{n}@acme.example", f"Newcomer {n}", "", "", f"E{n:04d}"])
    for email, name, role, groups, _ in BAD:
        writer.writerow([email, name, role, groups, ""])
    return out.getvalue().encode()


async def _only_acme_addresses(base: str, world: World) -> None:
    now = clock.utcnow()
    await OrgDomain.insert(
        OrgDomain(
            id=uuid.uuid4(),
            org=world.acme.id,
            domain="acme.example",
            verified_at=now,
            created_at=now,
        )
    )
    it = await api_token(base, "acme", "admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=base, headers=it) as client:
        r = await client.patch("/api/v1/org", json={"restrict_email_domains": True})
        assert r.status_code == 200, r.text


async def test_hr_imports_a_csv_checks_it_sends_and_sees_a_newcomer_join(
    world: World, web_server: Any, browsers: Browsers, outbox: Path, tmp_path: Path
) -> None:
    await _only_acme_addresses(web_server.base, world)
    hr = await browsers.page()
    await sign_in(hr, "acme", "hr_admin@acme.example", PASSWORD)
    await hr.get_by_role("link", name="Admin").click()
    await (
        hr.get_by_role("navigation", name="Admin console")
        .get_by_role("link", name="Invitations")
        .click()
    )
    await hr.get_by_role("link", name="Import from CSV").click()
    await expect(hr.get_by_role("heading", name="Import from CSV")).to_be_visible()
    await assert_accessible(hr)

    picker = hr.get_by_label("CSV file with the people to invite (pick or drop it here)")
    await picker.set_input_files(
        {"name": "staff.csv", "mimeType": "text/csv", "buffer": _staff_csv()}
    )
    await expect(hr.get_by_role("heading", name="Check: nothing sent yet")).to_be_visible()
    total = GOOD + len(BAD)
    await expect(hr.get_by_text(f"{GOOD} of {total} rows would be invited.")).to_be_visible()
    await expect(hr.get_by_text(f"{len(BAD)} rows will not be invited")).to_be_visible()
    rows = hr.get_by_role("table", name="Rows of the file").get_by_role("row")
    await expect(rows).to_have_count(total + 1)
    for email, _name, _, _, problem in BAD:
        if email == "not-an-address":
            row = rows.filter(has_text=email)
        else:
            row = rows.filter(has=hr.get_by_role("cell", name=email, exact=True)).filter(
                has_text=problem
            )
        await expect(row).to_have_count(1)
        await expect(row.get_by_text(problem, exact=True)).to_be_visible()
    await expect(rows.filter(has_text="Will be invited")).to_have_count(GOOD)
    # Nothing was sent by the check.
    assert await Invite.count().where(Invite.org == world.acme.id) == 0
    await assert_accessible(hr)
    await shoot(hr, "admin-import-report")

    # The report as a spreadsheet, formulas defused.
    async with hr.expect_download() as download_info:
        await hr.get_by_role("button", name="Download this report (CSV)").click()
    download = await download_info.value
    assert download.suggested_filename == "staff-check.csv"
    saved = tmp_path / "report.csv"
    await download.save_as(saved)
    report = list(csv.reader(saved.open(encoding="utf-8")))
    assert report[0] == ["Line", "Email", "Outcome", "Detail"]
    assert len(report) == total + 1
    assert ["2", "n1@acme.example", "Will be invited", ""] in report
    assert not [cell for line in report for cell in line if cell.startswith(("=", "+", "-", "@"))]

    await hr.get_by_role("button", name=f"Send {GOOD} invitations").click()
    await expect(hr.get_by_role("heading", name="Invitations sent")).to_be_visible()
    await expect(hr.get_by_text(f"{GOOD} of {total} rows invited.")).to_be_visible()
    link = await mailed_link(outbox, "n7@acme.example", r"http://\S+/invite#token=[\w-]+")
    assert await Invite.count().where(Invite.org == world.acme.id) == GOOD

    # HR watches the people list; the newcomer accepts in another browser.
    await hr.get_by_role("link", name="People").click()
    search = hr.get_by_label("Search by name, email or employee ID")
    await search.fill("newcomer 7")
    await expect(hr.get_by_text("Nobody matches.")).to_be_visible()
    newcomer = await browsers.page()
    await newcomer.goto(link)
    await expect(newcomer.get_by_label("Your name as colleagues see it")).to_have_value(
        "Newcomer 7"
    )
    await newcomer.get_by_label("New password").fill(NEW_PASSWORD)
    await newcomer.get_by_role("button", name="Join").click()
    await expect(newcomer.get_by_role("heading", name="News")).to_be_visible()

    row = hr.get_by_role("row").filter(has_text="Newcomer 7")
    await expect(row).to_have_count(1, timeout=15_000)
    await expect(row.get_by_text("Active")).to_be_visible()
    await expect(row.get_by_role("cell", name="n7@acme.example")).to_be_visible()
    await search.fill("")
    await expect(hr.get_by_role("row").filter(has_text="Newcomer 7")).to_have_count(1)
    await assert_accessible(hr)
    await shoot(hr, "admin-people")
    assert hr.errors == [] and newcomer.errors == []  # type: ignore[attr-defined]
