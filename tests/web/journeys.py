"""What the browser journeys share: reading mail from the outbox, TOTP codes, screenshots
and the accessibility check."""

from __future__ import annotations

import asyncio
import base64
import email
import hashlib
import hmac
import re
import struct
import time
from email import policy
from pathlib import Path
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

from tests.web.conftest import DESKTOP, PHONE, SHOTS

_axe = Axe()


async def mailed_link(outbox: Path, to: str, pattern: str, seconds: float = 15) -> str:
    """The newest link matching `pattern` in mail delivered to `to` (the worker delivers
    within a fraction of a second)."""
    deadline = time.monotonic() + seconds
    while True:
        found: list[tuple[float, str]] = []
        for path in outbox.glob("*.eml") if outbox.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if to.lower() not in str(message["To"]).lower():
                continue
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            for match in re.finditer(pattern, text):
                found.append((path.stat().st_mtime, match.group(0)))
        if found:
            return max(found)[1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {to} with {pattern!r}")
        await asyncio.sleep(0.2)


def totp_now(secret: str) -> str:
    """The authenticator app: RFC 6238 (SHA-1, 30 s, 6 digits) from the secret the page
    showed, computed here rather than by the code under test."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


async def next_totp(secret: str, used: str) -> str:
    """A code of a later time step than `used` (a code works once)."""
    while (code := totp_now(secret)) == used:
        await asyncio.sleep(0.5)
    return code


async def shoot(page: Page, name: str) -> None:
    """A screenshot at desktop and phone width (tests/web/screenshots/)."""
    SHOTS.mkdir(exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        await page.wait_for_timeout(150)
        # The phone's shot is its screen (the fixed navigation bar stays at its foot).
        await page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=label == "desktop")
    if size:
        await page.set_viewport_size(size)


async def assert_accessible(page: Page) -> None:
    """axe-core: no serious or critical violation on the page as it is now."""
    results = await _axe.run(page)
    bad: list[dict[str, Any]] = [
        v for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


async def sign_in(page: Page, org: str, login: str, password: str) -> None:
    """Through the sign-in page, as a person types it (the organisation typed when the
    address's domain is not bound)."""
    await page.goto("/signin")
    await page.get_by_label("Work email or username").fill(login)
    await page.get_by_role("button", name="Continue").click()
    org_field = page.get_by_label("Organisation ID")
    await org_field.or_(page.get_by_label("Password")).first.wait_for()
    if await org_field.count():
        await org_field.fill(org)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="News").wait_for()


async def api_token(base: str, org: str, login: str, password: str) -> dict[str, str]:
    """Bearer headers for the API of the server under test (as another app would)."""
    import httpx

    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.post(
            "/api/v1/auth/login", json={"org": org, "login": login, "password": password}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}
