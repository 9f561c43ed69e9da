"""Journey 5: an editor's mandatory post appears live in an employee's open feed, and
acknowledging it takes it out of "to acknowledge"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from playwright.async_api import expect

from staffroom.core import clock
from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in


async def test_a_mandatory_post_arrives_live_and_is_acknowledged(
    world: World, web_server: Any, browsers: Browsers
) -> None:
    editor = await api_token(web_server.base, "acme", "editor@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=editor) as api:
        channel = (await api.post("/api/v1/channels", json={"name": "Company news"})).json()
        r = await api.post(
            f"/api/v1/channels/{channel['id']}/posts",
            json={"title": "Canteen reopens", "body": "From **Monday** on, 11:30 to 14:00."},
        )
        assert r.status_code == 201, r.text

    page = await browsers.page()
    await sign_in(page, "acme", "member@acme.example", PASSWORD)
    await expect(page.get_by_role("heading", name="Canteen reopens")).to_be_visible()
    # The server's sanitised HTML, not the Markdown source.
    await expect(page.locator(".post-body strong")).to_have_text("Monday")
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()

    due = (clock.utcnow() + timedelta(days=3)).isoformat()
    async with httpx.AsyncClient(base_url=web_server.base, headers=editor) as api:
        r = await api.post(
            f"/api/v1/channels/{channel['id']}/posts",
            json={
                "title": "New safety rules for the loading bay",
                "body": "Hi-vis vests are **mandatory** from now on.",
                "requires_ack": True,
                "ack_due_at": due,
            },
        )
        assert r.status_code == 201, r.text
    # No reload: it arrives over the realtime socket.
    await expect(
        page.get_by_role("heading", name="New safety rules for the loading bay")
    ).to_be_visible()
    to_ack = page.get_by_role("complementary", name="1 post to acknowledge")
    await expect(to_ack).to_be_visible()
    await expect(page.get_by_text("Please acknowledge by")).to_be_visible()
    await assert_accessible(page)
    await shoot(page, "feed")
    await page.get_by_role("button", name="I have read and understood this").click()
    await expect(page.get_by_text("You acknowledged this post.")).to_be_visible()
    await expect(to_ack).to_have_count(0)

    # Reactions and a comment on the other post.
    post = page.get_by_role("article", name="Canteen reopens")
    await post.get_by_role("button", name="React with 👍 (0)").click()
    await expect(post.get_by_role("button", name="React with 👍 (1)")).to_have_attribute(
        "aria-pressed", "true"
    )
    await post.get_by_role("button", name="0 comments").click()
    await post.get_by_role("textbox", name="Write a comment").fill("Finally!")
    await post.get_by_role("button", name="Send").click()
    await expect(post.get_by_text("Finally!")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_channel_over_the_unread_cap_shows_999_plus(
    world: World, web_server: Any, browsers: Browsers
) -> None:
    """The server stops counting a channel's unread posts at 1,000 (issue 22): the badge
    says "999+" then, and what a screen reader hears says the same."""
    editor = await api_token(web_server.base, "acme", "editor@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=editor) as api:
        busy = (await api.post("/api/v1/channels", json={"name": "Shift swaps"})).json()
        quiet = (await api.post("/api/v1/channels", json={"name": "Canteen"})).json()
        for channel in (busy, quiet):
            r = await api.post(
                f"/api/v1/channels/{channel['id']}/posts", json={"title": "Hi", "body": "x"}
            )
            assert r.status_code == 201, r.text

    page = await browsers.page()

    # A thousand posts would take the test minutes to write: the channel list the server
    # answers is given the cap's value for one channel (and one below it for the other).
    async def at_the_cap(route: Any) -> None:
        answer = await route.fetch()
        body = await answer.json()
        counts = {busy["id"]: 1000, quiet["id"]: 999}
        for item in body["items"]:
            item["unread"] = counts.get(item["id"], item["unread"])
        await route.fulfill(response=answer, json=body)

    await sign_in(page, "acme", "member@acme.example", PASSWORD)
    await expect(page.get_by_role("link", name="Shift swaps")).to_be_visible()
    # Routed once the page has settled, then loaded again: a navigation under way would
    # dispose of a routed answer before the handler reads it.
    await page.route("**/api/v1/channels", at_the_cap)
    await page.reload()
    over = page.get_by_role("link", name="Shift swaps")
    await expect(over.get_by_label("More than 999 unread posts")).to_have_text("999+")
    calm = page.get_by_role("link", name="Canteen")
    await expect(calm.get_by_label("999 unread posts", exact=True)).to_have_text("999")
    assert page.errors == []  # type: ignore[attr-defined]
