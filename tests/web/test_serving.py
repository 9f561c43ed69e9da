"""The web app is served by the API on its own origin: every app route and deep link
answers the app, hashed assets are cached for a year, index.html never, the API's own
404s stay JSON, and the page's CSP allows same-origin code only."""

from __future__ import annotations

import re
from typing import Any

from staffroom.webapp.routes import DIST

APP_ROUTES = [
    "/",
    "/signin",
    "/setup",
    "/reset-password",
    "/invite",
    "/signup",
    "/confirm-email",
    "/redeem",
    "/sso/callback",
    "/sso/error",
    "/signed-out",
    "/feed",
    "/posts/2b9c4b1e-46c4-4d3b-9a3c-1c1f8b7a0c11",
    "/chat/new",
    "/me",
]


async def test_every_emailed_link_and_deep_link_answers_the_app(client: Any) -> None:
    index = (DIST / "index.html").read_text()
    for path in APP_ROUTES:
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.text == index
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp


async def test_hashed_assets_are_cached_for_a_year_and_missing_files_are_404(
    client: Any,
) -> None:
    index = (DIST / "index.html").read_text()
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        r = await client.get(asset)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        kind = "javascript" if asset.endswith(".js") else "css"
        assert kind in r.headers["content-type"]
    # No inline script or style in the page itself (the CSP would block them).
    assert "<script>" not in index and "<style" not in index
    assert (await client.get("/assets/nope-123.js")).status_code == 404
    assert (await client.get("/favicon.svg")).status_code == 200
    # Never a file outside the build.
    assert (await client.get("/..%2f..%2fsettings.py")).status_code == 404


async def test_api_paths_never_answer_the_app(client: Any) -> None:
    for path in ("/api/v1/nope", "/api/v2/feed", "/sso/acme/saml/nope", "/health/nope"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/problem+json"), path
    assert (await client.get("/schema/nope")).status_code == 404
