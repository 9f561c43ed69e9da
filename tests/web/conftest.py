"""Browser journeys: a real `staffroom serve` (same database and keys as the test process,
mail delivered to its outbox folder, the scheduler relaying chat) driven by Playwright in
Debian's Chromium. Screenshots of each main page go to tests/web/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.support.serve import ServeProcess
from tests.support.servers import free_port

SHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 860}
# CI runs both databases' suites at once on two cores, next to the servers and Chromium: a
# page can take seconds to answer there. The waits are long, so a slow machine is not a
# failure; they cost nothing when the page is there at once.
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def web_server() -> Any:
    """One server for the browser tests; the database is cleaned between tests as always."""
    port = free_port()
    server = ServeProcess.start(
        port=port,
        env={
            "STAFFROOM_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "STAFFROOM_MAIL_WORKER": "true",
            "STAFFROOM_MAIL_POLL_SECONDS": "0.2",
            "STAFFROOM_SCHEDULER": "true",
            "STAFFROOM_REALTIME_RECHECK_SECONDS": "1",
            # The tests' OpenID provider listens on 127.0.0.1, as a development IdP would.
            "STAFFROOM_SSO_METADATA_ALLOW_PRIVATE": "true",
        },
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:  # `make test` installs it: a run without it must not pass quietly
        pytest.fail("chromium is not installed (make system-deps installs it)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        await launched.close()


class Browsers:
    """New browser contexts (each its own cookies: another person, or another device)."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser, self.base = browser, base
        self.contexts: list[BrowserContext] = []

    async def page(self, *, locale: str = "en-GB", phone: bool = False) -> Page:
        context = await self.browser.new_context(
            base_url=self.base,
            locale=locale,
            viewport=PHONE if phone else DESKTOP,
            extra_http_headers={"Accept-Language": f"{locale},{locale.split('-')[0]};q=0.9"},
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors  # type: ignore[attr-defined]
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def browsers(browser: Browser, web_server: Any) -> AsyncIterator[Browsers]:
    made = Browsers(browser, web_server.base)
    yield made
    await made.close()


@pytest.fixture
def outbox() -> Path:
    return Path(os.environ["STAFFROOM_DATA_DIR"]) / "outbox"
