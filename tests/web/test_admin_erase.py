"""Admin console, journey 6: an owner erases a person (GDPR) from their page, with a
reason and after typing their name. The person's open session ends at once (their next
action lands on sign-in), their chat messages show "Deleted user" to the others, and the
audit log shows the erasure with a chain that verifies."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, sign_in

REASON = "Art. 17 request of 2 Dec, ticket HR-881"


async def test_an_owner_erases_a_person(world: World, web_server: Any, browsers: Browsers) -> None:
    member = world.acme["member"]
    headers = await api_token(web_server.base, "acme", member.login, PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=headers) as api:
        r = await api.post(
            "/api/v1/conversations",
            json={
                "kind": "group",
                "title": "Night shift",
                "user_ids": [str(world.acme["editor"].id)],
            },
        )
        assert r.status_code == 201, r.text
        sent = await api.post(
            f"/api/v1/conversations/{r.json()['id']}/messages",
            json={"client_msg_id": "m-1", "body": "Pallets are in bay 4"},
        )
        assert sent.status_code in (200, 201), sent.text

    # The person is signed in on their own device.
    person = await browsers.page(phone=True)
    await sign_in(person, "acme", member.login, PASSWORD)

    owner = await browsers.page()
    await sign_in(owner, "acme", world.acme["owner"].login, PASSWORD)
    await owner.goto(f"/admin/people/{member.id}")
    panel = owner.get_by_role("region", name="Erase personal data (GDPR)")
    await expect(panel.get_by_text("shown as from “Deleted user”")).to_be_visible()
    erase = panel.get_by_role("button", name="Erase Member")
    await expect(erase).to_be_disabled()
    await panel.get_by_label("Reason").fill(REASON)
    await panel.get_by_label("Type Member to confirm").fill("member")  # not the name exactly
    await expect(erase).to_be_disabled()
    await panel.get_by_label("Type Member to confirm").fill("Member")
    await expect(erase).to_be_enabled()
    await assert_accessible(owner)
    await erase.click()
    await expect(owner.get_by_role("heading", name="Deleted user")).to_be_visible()
    await expect(owner.get_by_role("status").filter(has_text="was erased")).to_be_visible()
    await expect(panel).to_have_count(0)

    # Their session ended at once: their open app went to sign-in by itself, and whatever
    # they open next lands there too.
    await expect(person.get_by_role("heading", name="Sign in")).to_be_visible()
    await person.goto("/chat")
    await expect(person.get_by_role("heading", name="Sign in")).to_be_visible()

    # Their messages stay, from "Deleted user".
    editor = await browsers.page()
    await sign_in(editor, "acme", world.acme["editor"].login, PASSWORD)
    await editor.get_by_role("link", name="Chat").click()
    await editor.get_by_role("link", name="Night shift").click()
    message = editor.get_by_role("list", name="Messages").get_by_role("listitem")
    await expect(message.filter(has_text="Pallets are in bay 4")).to_contain_text("Deleted user")
    await expect(editor.get_by_text("Member", exact=True)).to_have_count(0)

    # The audit log has the erasure and its chain verifies.
    await owner.goto("/admin/audit")
    chain = owner.get_by_role("region", name="Integrity")
    await expect(chain.get_by_role("status")).to_contain_text("is intact")
    await expect(chain.get_by_text("Verified", exact=True)).to_be_visible()
    row = owner.get_by_role("row").filter(has_text="user.erased")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(REASON)
    await expect(row).to_contain_text(str(member.id))
    await assert_accessible(owner)
    assert owner.errors == [] and editor.errors == []  # type: ignore[attr-defined]
