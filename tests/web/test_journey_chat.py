"""Journey 4: two people chat in two browsers. A message appears in the other browser
without a reload, edits and deletions too, the unread badge counts, and a message typed
while the connection is cut is sent once when it returns."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in


async def _say(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Write a message")
    await box.fill(text)
    await box.press("Enter")


async def test_two_people_chat_live(world: World, web_server: Any, browsers: Browsers) -> None:
    ana = await browsers.page()
    ben = await browsers.page()
    await sign_in(ana, "acme", "member@acme.example", PASSWORD)
    await sign_in(ben, "acme", "editor@acme.example", PASSWORD)

    # Ana starts a conversation with Ben, picked from the directory.
    await ana.get_by_role("link", name="Chat").click()
    await ana.get_by_role("link", name="New conversation").click()
    await ana.get_by_label("Find colleagues").fill("Editor")
    await ana.get_by_role("button", name="+ Editor").click()
    await assert_accessible(ana)
    await ana.get_by_role("button", name="Start conversation").click()
    await expect(ana.get_by_role("heading", name="Editor", exact=True)).to_be_visible()
    await expect(ana.get_by_role("status").filter(has_text="Live")).to_be_visible()

    # Ben waits on his conversation list: the badge counts what arrives.
    await ben.get_by_role("link", name="Chat").click()
    await expect(ben.get_by_role("status").filter(has_text="Live")).to_be_visible()
    await _say(ana, "Forklift 3 is back")
    await _say(ana, "Bay 2 is free")
    await expect(ben.get_by_label("2 unread messages")).to_be_visible()
    await expect(ben.get_by_label("1 conversation with unread messages")).to_be_visible()
    await ben.get_by_role("link", name="Member").click()
    messages = ben.get_by_role("list", name="Messages")
    await expect(messages).to_contain_text("Forklift 3 is back")
    await expect(messages).to_contain_text("Bay 2 is free")
    await expect(ben.get_by_label("2 unread messages")).to_have_count(0)
    await assert_accessible(ben)

    # A new message, an edit and a deletion reach Ben without a reload (how fast is the
    # benchmark's budget, not a timed assertion here: bench/web.py, 150 ms).
    await _say(ana, "Lunch at 12?")
    await expect(messages).to_contain_text("Lunch at 12?")
    mine = ana.locator(".message.mine").filter(has_text="Forklift 3 is back")
    await mine.get_by_role("button", name="Edit").click()
    await ana.get_by_role("textbox", name="Edit").fill("Forklift 3 is back in bay 4")
    await ana.get_by_role("button", name="Save").click()
    await expect(messages).to_contain_text("Forklift 3 is back in bay 4")
    ana.on("dialog", lambda dialog: dialog.accept())
    await (
        ana.locator(".message.mine")
        .filter(has_text="Bay 2 is free")
        .get_by_role("button", name="Delete")
        .click()
    )
    await expect(messages).not_to_contain_text("Bay 2 is free")
    await expect(messages).to_contain_text("This message was deleted.")
    await shoot(ben, "chat")

    # The connection drops while Ana types: the message waits, then goes exactly once.
    await ana.context.set_offline(True)
    await _say(ana, "Sent from the cold store")
    await expect(ana.get_by_text("Not sent yet")).to_be_visible()
    await ana.context.set_offline(False)
    await expect(messages).to_contain_text("Sent from the cold store")
    await expect(ana.get_by_text("Not sent yet")).to_have_count(0)
    await expect(ana.locator(".message").filter(has_text="Sent from the cold store")).to_have_count(
        1
    )
    headers = await api_token(web_server.base, "acme", "editor@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=headers) as api:
        conversations = (await api.get("/api/v1/conversations")).json()["items"]
        history = await api.get(f"/api/v1/conversations/{conversations[0]['id']}/messages")
    bodies = [m["body"] for m in history.json()["items"]]
    assert bodies.count("Sent from the cold store") == 1
    assert ana.errors == [] and ben.errors == []  # type: ignore[attr-defined]
