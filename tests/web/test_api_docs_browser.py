"""The interactive API documentation in a real browser with no internet: every request to
another host is refused, and Swagger UI still renders the API's operations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Route, expect

from tests.web.conftest import Browsers


async def test_swagger_ui_renders_offline(web_server: Any, browsers: Browsers) -> None:
    page = await browsers.page()
    elsewhere: list[str] = []

    async def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:  # the internet is not there
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", offline)
    # Not waiting for "load": the page's 1.5 MB of Swagger UI through the interception
    # above is slow on a busy machine; what counts is what it renders.
    await page.goto("/schema/swagger", wait_until="domcontentloaded")
    await expect(page.get_by_role("heading", name="Staffroom API")).to_be_visible()
    # The operations are listed from our own OpenAPI document.
    await expect(page.get_by_text("/api/v1/auth/login", exact=True)).to_be_visible()
    assert elsewhere == []
    assert page.errors == []  # type: ignore[attr-defined]
