"""The interactive API documentation works without internet: every file the page loads is
ours, and the CSP names no other site.

A real browser opening the page comes with the browser tests (Playwright is being added
for the web app); until then this asserts on the HTML and the files it references."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import pytest

from staffroom.endpoints.api_docs import STATIC

_REFERENCED = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_the_docs_page_loads_only_our_own_files(client, page: str) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "SwaggerUIBundle(" in html
    # Nothing loaded from elsewhere (the embedded document's problem type URIs are names,
    # not resources).
    assert not re.search(r"""(?:src|href|url)\s*[=:(]\s*["']?(?:https?:)?//""", html), html
    assert "cdn" not in html
    csp = r.headers["content-security-policy"]
    assert "http" not in csp and "jsdelivr" not in csp
    assert "script-src 'self' 'unsafe-inline';" in csp
    referenced = _REFERENCED.findall(html)
    assert len(referenced) == 4  # the script, the preset, the styles and the icon
    for url in referenced:
        assert url.startswith(f"{STATIC}/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        kind = TYPES[PurePosixPath(url.partition("?")[0]).suffix]
        assert asset.headers["content-type"].split(";")[0] == kind, url
        assert "max-age=31536000" in asset.headers["cache-control"]
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert len(asset.content) > 500
    script = await client.get(next(u for u in referenced if "bundle.js" in u))
    assert b"SwaggerUIBundle" in script.content


async def test_only_the_pages_files_are_served(client) -> None:
    for name in ("swagger-editor-bundle.js", "LICENSE", "..%2F..%2Fapi_docs.py", "index.css"):
        r = await client.get(f"{STATIC}/{name}")
        assert r.status_code == 404, name
        assert r.headers["content-type"].startswith("application/problem+json")
