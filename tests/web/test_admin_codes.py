"""Admin console, journey 2: HR makes a batch of 20 access codes bound to employee ids and
gets the printable PDF (20 cards, whose QR codes, rendered and decoded, are the redemption
links of the printed codes); one code is redeemed on another device and the batch shows 1
redeemed; one lost card is withdrawn on its own from the batch's page; withdrawing the
batch makes the next card refuse."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import pypdfium2
import zxingcpp
from playwright.async_api import Locator, Page, expect
from pypdf import PdfReader

from tests.support.world import PASSWORD, World
from tests.web.conftest import Browsers
from tests.web.journeys import assert_accessible, shoot, sign_in

CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}")
NEW_PASSWORD = "Lantern-Orchard-Biscuit-31"
PEOPLE = [(f"W-{n:03d}", f"Warehouse Worker {n}") for n in range(1, 21)]


def _qr_links(pdf: bytes) -> list[str]:
    """What a phone's camera reads from the printed sheets: each page rendered at 200 dpi,
    every QR code on it decoded."""
    found: list[str] = []
    document = pypdfium2.PdfDocument(pdf)
    for page in document:
        image = page.render(scale=200 / 72).to_pil()
        found += [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.QRCode]
    return found


async def _redeem_api(base: str, code: str) -> httpx.Response:
    body = {"org": "acme", "code": code, "username": "lost-card", "password": NEW_PASSWORD}
    async with httpx.AsyncClient(base_url=base) as client:
        return await client.post("/api/v1/public/access-codes/redeem", json=body)


async def _redeem(page: Page, code: str, username: str) -> None:
    await page.goto("/redeem")
    await page.get_by_label("Organisation ID").fill("acme")
    await page.get_by_role("textbox", name="Access code").fill(code)
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Your name as colleagues see it").fill("Night Worker")
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Join").click()


async def test_hr_prints_bound_codes_sees_one_redeemed_and_withdraws_the_rest(
    world: World, web_server: Any, browsers: Browsers, tmp_path: Path
) -> None:
    hr = await browsers.page()
    await sign_in(hr, "acme", "hr_admin@acme.example", PASSWORD)
    await hr.get_by_role("link", name="Admin").click()
    await hr.get_by_role("link", name="Access codes").first.click()
    await expect(hr.get_by_text("No batches yet.")).to_be_visible()
    await hr.get_by_role("link", name="New batch of codes").click()
    await expect(hr.get_by_role("heading", name="New batch of codes")).to_be_visible()
    await assert_accessible(hr)

    await hr.get_by_label("Label").fill("Depot night shift")
    await hr.get_by_label("Named people (a CSV of employee IDs and names)").check()
    people = "employee_id,display_name\n" + "".join(f"{e},{n}\n" for e, n in PEOPLE)
    await hr.get_by_label("CSV file of people").set_input_files(
        {"name": "night.csv", "mimeType": "text/csv", "buffer": people.encode()}
    )
    await expect(hr.get_by_label("File", exact=True)).to_have_value("pdf")
    async with hr.expect_download() as download_info:
        await hr.get_by_role("button", name="Create codes").click()
    download = await download_info.value
    assert download.suggested_filename == "Depot-night-shift.pdf"
    saved = tmp_path / "cards.pdf"
    await download.save_as(saved)
    body = saved.read_bytes()
    assert body.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    codes = list(dict.fromkeys(CODE.findall(text)))
    assert len(codes) == 20 and "Card 20 of 20" in text
    assert all(name in text for _, name in PEOPLE)
    links = _qr_links(body)
    assert len(links) == 20
    assert sorted(links) == sorted(f"{web_server.base}/redeem?org=acme#code={c}" for c in codes)
    await expect(hr.get_by_role("heading", name="Codes created")).to_be_visible()
    await expect(hr.get_by_text("The codes are shown only once")).to_be_visible()
    await assert_accessible(hr)

    # A worker redeems the first card on another device.
    worker = await browsers.page(phone=True)
    await _redeem(worker, codes[0], "night-worker-1")
    await expect(worker.get_by_role("heading", name="News")).to_be_visible()

    await hr.get_by_role("link", name="All batches").click()
    row = hr.get_by_role("row").filter(has_text="Depot night shift")
    await expect(row).to_have_count(1)
    headers = await hr.get_by_role("columnheader").all_inner_texts()
    cells = row.get_by_role("cell")
    redeemed, still_open = headers.index("Redeemed") - 1, headers.index("Open") - 1
    await expect(cells.nth(redeemed)).to_have_text("1")
    await expect(cells.nth(still_open)).to_have_text("19")
    await assert_accessible(hr)
    await shoot(hr, "admin-codes")

    # Worker 2 lost their card: withdrawn on its own from the batch's page.
    by_name = {
        m.group(1): m.group(2)
        for m in re.finditer(r"(Warehouse Worker \d+)[\s\S]*?(" + CODE.pattern + ")", text)
    }
    assert len(by_name) == 20 and by_name["Warehouse Worker 1"] == codes[0]
    await row.get_by_role("link", name="Depot night shift").click()
    cards = hr.get_by_role("region", name="Cards of this batch").get_by_role("row")
    await expect(cards).to_have_count(21)

    def card_of(name: str) -> Locator:
        return cards.filter(has=hr.get_by_role("link", name=name, exact=True))

    await expect(card_of("Warehouse Worker 1")).to_contain_text("Redeemed")
    lost = card_of("Warehouse Worker 2")
    await lost.get_by_role("button", name="Withdraw card").click()
    await expect(hr.get_by_role("status")).to_contain_text(
        "is withdrawn: its code no longer works."
    )
    await expect(lost).to_contain_text("Withdrawn")
    await expect(lost.get_by_role("button")).to_have_count(0)
    await assert_accessible(hr)
    refused = await _redeem_api(web_server.base, by_name["Warehouse Worker 2"])
    assert refused.status_code == 410 and refused.json()["code"] == "code_revoked", refused.text
    await hr.get_by_role("link", name="All batches").click()
    await expect(cells.nth(still_open)).to_have_text("18")

    await row.get_by_role("button", name="Withdraw the open codes of Depot night shift").click()
    await row.get_by_role("button", name="Withdraw 18 open codes").click()
    await expect(hr.get_by_role("status")).to_have_text(
        "The open codes of Depot night shift are withdrawn."
    )
    await expect(cells.nth(still_open)).to_have_text("0")
    await expect(cells.nth(redeemed)).to_have_text("1")
    await expect(row.get_by_text("Withdrawn")).to_be_visible()

    # The next card is refused.
    late = await browsers.page(phone=True)
    await _redeem(late, by_name["Warehouse Worker 3"], "night-worker-3")
    await expect(late.get_by_role("alert")).to_have_text(
        "This code no longer works. Ask HR for a new one."
    )
    assert hr.errors == [] and worker.errors == []  # type: ignore[attr-defined]
