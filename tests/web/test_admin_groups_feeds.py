"""Admin console: groups, channels and feed moderation. HR makes a group of two and a
channel only that group sees and only editors post to; an editor schedules a mandatory
post with a due date; a member of the group sees it in their feed when it is due and
acknowledges it, a colleague outside the group never sees it; the post's reach says 1 of
2 acknowledged and its CSV names the one who has not; pinning puts it first; a moderator
deletes a comment and a post. Axe on every page; the pages in German."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from staffroom.accounts.permissions import BUILTIN_ROLES
from tests.support.world import PASSWORD, World, add_user
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in

TITLE = "Fire drill on Friday"
# The next whole minute at least 20 s away, as a datetime-local field takes it (the
# browser's time zone), and when that is in milliseconds.
NEXT_MINUTE = """() => {
  const d = new Date(Date.now() + 20000);
  d.setSeconds(0, 0);
  d.setMinutes(d.getMinutes() + 1);
  const pad = (n) => String(n).padStart(2, "0");
  const local = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return [local, d.getTime()];
}"""
TOMORROW_5PM = """() => {
  const d = new Date(Date.now() + 86400000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T17:00`;
}"""


async def _hr_with_channels(base: str, world: World) -> None:
    """HR here also runs the channels: a custom role, the built-in HR admin's permissions
    and feeds.manage (the built-in HR admin does not moderate the feed)."""
    admin = await api_token(base, "acme", "admin@acme.example", PASSWORD)
    perms = sorted(BUILTIN_ROLES["hr_admin"] | {"feeds.manage"})
    async with httpx.AsyncClient(base_url=base, headers=admin) as api:
        r = await api.post(
            "/api/v1/roles", json={"key": "hr_comms", "name": "HR and comms", "permissions": perms}
        )
        assert r.status_code == 201, r.text
        r = await api.patch(f"/api/v1/users/{world.acme['hr_admin'].id}", json={"role": "hr_comms"})
        assert r.status_code == 200, r.text


async def _open_section(page: Page, name: str) -> None:
    await (
        page.get_by_role("navigation", name="Admin console").get_by_role("link", name=name).click()
    )
    await expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


async def _add_member(hr: Page, search: str, name: str) -> None:
    await hr.get_by_label("Find people to add (name, email or employee ID)").fill(search)
    await hr.get_by_role("button", name=f"Add {name} to Night shift").click()
    await expect(
        hr.get_by_role("status").filter(has_text=f"{name} is now in Night shift.")
    ).to_be_visible()


async def test_hr_groups_a_channel_an_editor_schedules_a_mandatory_post_members_acknowledge(
    world: World, web_server: Any, browsers: Browsers, rt: Any, tmp_path: Path
) -> None:
    for login, name in (("ana", "Ana Alvarez"), ("ben", "Ben Becker"), ("olga", "Olga Outsider")):
        await add_user(rt, world.acme.id, email=f"{login}@acme.example", name=name)
    await _hr_with_channels(web_server.base, world)

    # HR: a group of two.
    hr = await browsers.page()
    await sign_in(hr, "acme", "hr_admin@acme.example", PASSWORD)
    await hr.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    await _open_section(hr, "Groups")
    await expect(hr.get_by_text("There are no groups yet.")).to_be_visible()
    await assert_accessible(hr)
    await hr.get_by_role("link", name="New group").click()
    await hr.get_by_label("Name").fill("Night shift")
    await hr.get_by_label("Kind").select_option("location")
    await hr.get_by_label("Description").fill("Depot, 22:00 to 06:00")
    await assert_accessible(hr)
    await hr.get_by_role("button", name="Create group").click()
    await expect(hr.get_by_role("heading", name="Night shift Location", level=1)).to_be_visible()
    await expect(
        hr.get_by_role("status").filter(has_text="Group created. Add its members below.")
    ).to_be_visible()
    await _add_member(hr, "Ana", "Ana Alvarez")
    await _add_member(hr, "ben@acme", "Ben Becker")
    await expect(hr.get_by_role("heading", name="2 members")).to_be_visible()
    found = hr.get_by_role("list", name="People found")
    await expect(found.get_by_text("Member", exact=True)).to_be_visible()  # Ben, already in
    await expect(hr.get_by_text("No channel names this group.")).to_be_visible()
    await assert_accessible(hr)
    group_url = hr.url

    # HR: a channel only the group sees, where only editors post.
    await _open_section(hr, "Feed moderation")
    await assert_accessible(hr)
    await hr.get_by_role("link", name="New channel").click()
    await hr.get_by_label("Name").fill("Night shift news")
    await hr.get_by_label("Chosen groups only").check()
    await hr.get_by_role("group", name="Groups that see it").get_by_label("Night shift").check()
    await expect(
        hr.get_by_label("Editors only (people whose role lets them publish)")
    ).to_be_checked()
    await assert_accessible(hr)
    await hr.get_by_role("button", name="Create channel").click()
    await expect(hr.get_by_role("heading", name="Night shift news", level=1)).to_be_visible()
    await expect(hr.get_by_role("definition").filter(has_text="Night shift")).to_have_count(1)
    await expect(hr.get_by_text("Editors", exact=True)).to_be_visible()
    await assert_accessible(hr)
    # The group's page now names the channel, and what deleting the group would do to it.
    await hr.goto(group_url)
    channels = hr.get_by_role("region", name="Channels")
    await expect(channels.get_by_role("link", name="Night shift news")).to_be_visible()
    await expect(channels.get_by_text("sees it")).to_be_visible()
    await expect(
        hr.get_by_text("Night shift news: this is its only group, so nobody but moderators")
    ).to_be_visible()
    await hr.get_by_role("button", name="Delete group…").click()
    await expect(hr.get_by_role("button", name="Delete Night shift")).to_be_visible()
    await assert_accessible(hr)
    await hr.get_by_role("button", name="Cancel").click()
    await shoot(hr, "admin-group")

    # The two readers sign in before the post exists.
    ana = await browsers.page()
    await sign_in(ana, "acme", "ana@acme.example", PASSWORD)
    olga = await browsers.page()
    await sign_in(olga, "acme", "olga@acme.example", PASSWORD)

    # An editor schedules a mandatory post with a due date.
    editor = await browsers.page()
    await sign_in(editor, "acme", "editor@acme.example", PASSWORD)
    await editor.goto("/admin/feeds")
    await editor.get_by_role("link", name="Night shift news").click()
    await expect(editor.get_by_text("No posts here yet.")).to_be_visible()
    await editor.get_by_role("link", name="New post").click()
    await expect(editor.get_by_role("heading", name="New post in Night shift news")).to_be_visible()
    await editor.get_by_label("Title").fill(TITLE)
    await editor.get_by_label("Text").fill("**Everyone** meets at the car park at 02:00.")
    await editor.get_by_label("Schedule for later").check()
    publish_at, due_ms = await editor.evaluate(NEXT_MINUTE)
    await editor.get_by_label("Publish on").fill(publish_at)
    await editor.get_by_label("Everyone who sees it must acknowledge it").check()
    await editor.get_by_label("Acknowledge by (optional)").fill(await editor.evaluate(TOMORROW_5PM))
    await assert_accessible(editor)
    await shoot(editor, "admin-composer")
    await editor.get_by_role("button", name="Schedule").click()
    await expect(
        editor.get_by_role("status").filter(has_text=f"{TITLE} is scheduled.")
    ).to_be_visible()
    row = editor.get_by_role("row").filter(has_text=TITLE)
    await expect(row.get_by_text("Scheduled for")).to_be_visible()
    await expect(row.get_by_text("Acknowledge by")).to_be_visible()
    await assert_accessible(editor)
    post_href = await row.get_by_role("link", name=TITLE).get_attribute("href")
    assert post_href is not None
    post_id = post_href.rsplit("/", 1)[1]

    # Not before it is due, for nobody.
    assert time.time() * 1000 < due_ms
    await ana.reload()
    await expect(ana.get_by_text("No news yet.")).to_be_visible()
    # Once due it arrives in Ana's open feed by itself (the scheduler announces it).
    wait_ms = due_ms - time.time() * 1000 + 30_000
    await expect(ana.get_by_role("heading", name=TITLE)).to_be_visible(timeout=wait_ms)
    await expect(ana.get_by_text("Please acknowledge by")).to_be_visible()
    await ana.get_by_role("button", name="I have read and understood this").click()
    await expect(ana.get_by_text("You acknowledged this post.")).to_be_visible()
    # Olga is not in the group: not in her feed, and its address is no page for her.
    await olga.reload()
    await expect(olga.get_by_text("No news yet.")).to_be_visible()
    await olga.goto(f"/posts/{post_id}")
    await expect(olga.get_by_role("heading", name="Not found")).to_be_visible()

    # The reach: 1 of 2 acknowledged; the CSV names Ben, who has not.
    await editor.reload()
    await expect(
        editor.get_by_role("row").filter(has_text=TITLE).get_by_text("Published")
    ).to_be_visible()
    await editor.get_by_role("link", name=TITLE).click()
    await expect(editor.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    reach = editor.get_by_role("region", name="Reach")
    await expect(reach.get_by_text("1 of 2 (50 %)").last).to_be_visible()
    await expect(
        reach.get_by_role("heading", name="1 person has not acknowledged yet")
    ).to_be_visible()
    pending = reach.get_by_role("list", name="Who has not acknowledged")
    await expect(pending.get_by_role("listitem")).to_have_text(["Ben Becker ben@acme.example"])
    async with editor.expect_download() as download_info:
        await reach.get_by_role("button", name="Download who has not acknowledged (CSV)").click()
    download = await download_info.value
    assert download.suggested_filename == "Fire-drill-on-Friday-not-acknowledged.csv"
    await download.save_as(tmp_path / "pending.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "pending.csv").read_text("utf-8-sig"))))
    assert [(r["display_name"], r["login"], r["acknowledged_at"]) for r in rows] == [
        ("Ben Becker", "ben@acme.example", "")
    ]
    await assert_accessible(editor)
    await shoot(editor, "admin-post-reach")

    # A newer post comes first, until the mandatory one is pinned.
    await editor.get_by_role("link", name="Back to the channel").click()
    await editor.get_by_role("link", name="New post").click()
    await editor.get_by_label("Title").fill("Canteen menu")
    await editor.get_by_label("Text").fill("Soup of the day: lentils.")
    await editor.get_by_role("button", name="Publish", exact=True).click()
    await expect(
        editor.get_by_role("status").filter(has_text="Canteen menu is published.")
    ).to_be_visible()
    await expect(ana.get_by_role("heading", name="Canteen menu")).to_be_visible()
    assert await _titles(ana) == ["Canteen menu", TITLE]
    await editor.get_by_role("button", name=f"Pin {TITLE}").click()
    await expect(editor.get_by_role("button", name=f"Unpin {TITLE}")).to_be_visible()
    rows_now = await editor.get_by_role("row").all_inner_texts()
    assert TITLE in rows_now[1] and "Pinned" in rows_now[1]
    await _until(lambda: _titles(ana), [TITLE, "Canteen menu"])
    await expect(ana.get_by_role("article", name=TITLE).get_by_text("Pinned")).to_be_visible()
    await shoot(editor, "admin-channel")

    # A moderator deletes a comment, then a post.
    canteen = ana.get_by_role("article", name="Canteen menu")
    await canteen.get_by_role("button", name="0 comments").click()
    await canteen.get_by_role("textbox", name="Write a comment").fill("Lentils again?!")
    await canteen.get_by_role("button", name="Send").click()
    await expect(canteen.get_by_text("Lentils again?!")).to_be_visible()
    await editor.get_by_role("link", name="Canteen menu").click()
    await editor.get_by_role("button", name="Delete the comment of Ana Alvarez").click()
    await editor.get_by_role("button", name="Delete comment").click()
    await expect(editor.get_by_text("Deleted comment")).to_be_visible()
    await assert_accessible(editor)
    await editor.get_by_role("button", name="Delete Canteen menu").click()
    await expect(editor.get_by_text("It disappears from every feed at once")).to_be_visible()
    await editor.get_by_role("button", name="Delete post").click()
    await expect(
        editor.get_by_role("status").filter(has_text="Canteen menu is deleted.")
    ).to_be_visible()
    await expect(ana.get_by_role("heading", name="Canteen menu")).to_have_count(0)
    for page in (hr, ana, olga, editor):
        assert page.errors == []  # type: ignore[attr-defined]

    # The same pages in German.
    async with httpx.AsyncClient(
        base_url=web_server.base,
        headers=await api_token(web_server.base, "acme", "hr_admin@acme.example", PASSWORD),
    ) as api:
        assert (await api.patch("/api/v1/me", json={"locale": "de"})).status_code == 200
    german = await browsers.page(locale="de-DE")
    await german.goto("/signin")
    await german.get_by_label("Dienstliche E-Mail oder Benutzername").fill("hr_admin@acme.example")
    await german.get_by_role("button", name="Weiter").click()
    await german.get_by_label("Organisations-ID").fill("acme")
    await german.get_by_label("Passwort").fill(PASSWORD)
    await german.get_by_role("button", name="Anmelden").click()
    await german.get_by_role("heading", name="Neuigkeiten").wait_for()
    await german.goto(group_url)
    await expect(
        german.get_by_role("heading", name="Night shift Standort", level=1)
    ).to_be_visible()
    await expect(german.get_by_role("heading", name="2 Mitglieder")).to_be_visible()
    await expect(german.get_by_role("columnheader", name="Name", exact=True)).to_be_visible()
    await expect(german.get_by_text("sieht ihn")).to_be_visible()
    await assert_accessible(german)
    await german.goto(f"/admin/feeds/posts/{post_id}")
    reach = german.get_by_role("region", name="Reichweite")
    await expect(
        reach.get_by_role("heading", name="1 Person hat noch nicht bestätigt")
    ).to_be_visible()
    await expect(reach.get_by_text("1 von 2 (50 %)").last).to_be_visible()
    await german.get_by_role("link", name="Zurück zum Kanal").click()
    await german.get_by_role("link", name="Neuer Beitrag").click()
    await expect(german.get_by_label("Für später planen")).to_be_visible()
    await assert_accessible(german)
    await german.get_by_role("link", name="Zurück zu Night shift news").click()
    await german.get_by_role("link", name="Einstellungen").click()
    await expect(german.get_by_label("Nur die Redaktion (Personen, deren Rolle")).to_be_checked()
    await assert_accessible(german)
    assert german.errors == []  # type: ignore[attr-defined]


async def _titles(page: Page) -> list[str]:
    return await page.locator("article.post h2").all_inner_texts()


async def _until(read: Any, expected: Any, seconds: float = 10) -> None:
    """What `read()` returns, once it is `expected` (live updates take a moment)."""
    deadline = time.monotonic() + seconds
    while (got := await read()) != expected:
        assert time.monotonic() < deadline, got
        await asyncio.sleep(0.2)
