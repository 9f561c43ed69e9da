"""Admin console, audit log: what an IT admin did earlier in the test (claiming domains,
a failed verification) shows in the log; the action filter narrows it, the actor filter
too; the export downloads the log as JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect

from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import api_token, assert_accessible, shoot, sign_in


async def test_it_finds_earlier_actions_filters_them_and_exports_json_lines(
    world: World,
    web_server: Any,
    browsers: Browsers,
    dns_zone: dict[str, list[str]],
    tmp_path: Path,
) -> None:
    headers = await api_token(web_server.base, "acme", "admin@acme.example", PASSWORD)
    async with httpx.AsyncClient(base_url=web_server.base, headers=headers) as client:
        for name in ("first-audit.example", "second-audit.example"):
            r = await client.post("/api/v1/domains", json={"domain": name})
            assert r.status_code == 201, r.text
        r = await client.post(f"/api/v1/domains/{r.json()['id']}/verify")
        assert r.status_code == 422, r.text
        r = await client.post("/api/v1/groups", json={"name": "Audit Depot", "kind": "location"})
        assert r.status_code == 201, r.text

    it = await browsers.page()
    await sign_in(it, "acme", "admin@acme.example", PASSWORD)
    await it.get_by_role("link", name="Admin").click()
    await it.get_by_role("link", name="Audit log").first.click()
    table = it.get_by_role("table", name="Audit events")
    await expect(table.get_by_role("row").filter(has_text="first-audit.example")).to_have_count(1)
    await expect(table.get_by_role("row").filter(has_text="group.created")).to_have_count(1)
    failed = table.get_by_role("row").filter(has_text="domain.verified")
    await expect(failed).to_contain_text("Failed")
    await expect(failed).to_contain_text("Admin")
    await assert_accessible(it)
    await shoot(it, "admin-audit")

    # The action filter narrows the log to the two claims.
    await it.get_by_label("Action").fill("domain.added")
    await it.get_by_role("button", name="Filter", exact=True).click()
    await expect(table.get_by_role("row")).to_have_count(3)  # the header and two claims
    await expect(table).not_to_contain_text("group.created")
    # Someone else did none of it.
    await it.get_by_label("Who").select_option(label="Hr_Admin (hr_admin@acme.example)")
    await it.get_by_role("button", name="Filter", exact=True).click()
    await expect(it.get_by_text("No events match.")).to_be_visible()
    await it.get_by_role("button", name="Clear filters").click()
    await expect(table.get_by_role("row").filter(has_text="group.created")).to_have_count(1)

    async with it.expect_download() as download_info:
        await it.get_by_role("button", name="Export as JSON Lines").click()
    download = await download_info.value
    assert download.suggested_filename == "audit.jsonl"
    saved = tmp_path / "audit.jsonl"
    await download.save_as(saved)
    lines = [json.loads(line) for line in saved.read_text().splitlines() if line.strip()]
    actions = [e.get("action") for e in lines]
    assert actions.count("domain.added") == 2 and "domain.verified" in actions, actions

    await it.set_viewport_size({"width": 375, "height": 740})
    assert await it.evaluate("document.documentElement.scrollWidth") <= 375
    await assert_accessible(it)
    assert not it.errors  # type: ignore[attr-defined]
