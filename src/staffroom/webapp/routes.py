"""Serves the built web app on the API's own origin: hashed assets cached for a year,
`index.html` never cached, and every other non-API path (a deep link, an emailed link)
answered with the app so that its router can take over."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import File
from litestar.status_codes import HTTP_200_OK

from staffroom.accounts.guards import PUBLIC
from staffroom.core.errors import NotFound, Unavailable
from staffroom.core.middleware import APP_PAGE

DIST = Path(__file__).parent / "dist"
# Paths the app never answers: a mistyped API path stays a JSON 404.
_NOT_THE_APP = ("api/", "schema", "health/", "metrics", "sso/")
YEAR = "public, max-age=31536000, immutable"


def _index(request: Request[Any, Any, Any]) -> Response[bytes]:
    index = DIST / "index.html"
    if not index.is_file():
        raise Unavailable(
            "web_app_not_built", "The web app is not built: run `make install` (npm ci, vite)."
        )
    # security_headers gives the page the app's CSP.
    request.scope[APP_PAGE] = True  # type: ignore[literal-required]
    return Response(
        index.read_bytes(),
        media_type="text/html",
        headers={"cache-control": "no-cache"},
        status_code=HTTP_200_OK,
    )


# The SSO landing pages are named here: beside `/sso/{org_slug}/…` the catch-all below
# would never be reached for them.
@get(
    ["/", "/sso/callback", "/sso/error"],
    opt={PUBLIC: True},
    include_in_schema=False,
    sync_to_thread=False,
)
def app_root(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The web app's entry page."""
    return _index(request)


@get("/{path:path}", opt={PUBLIC: True}, include_in_schema=False, sync_to_thread=False)
def app_path(request: Request[Any, Any, Any], path: FromPath[str]) -> Response[bytes] | File:
    """A built file (hashed under assets/), or the app for any route it knows."""
    rel = path.lstrip("/")
    if rel.startswith(_NOT_THE_APP):
        raise NotFound("not_found", "No such path.")
    candidate = (DIST / rel).resolve()
    if rel and candidate.is_relative_to(DIST.resolve()) and candidate.is_file():
        cache = YEAR if rel.startswith("assets/") else "public, max-age=3600"
        media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
        return File(
            candidate,
            media_type=media_type,
            content_disposition_type="inline",
            headers={"cache-control": cache},
        )
    if rel.startswith("assets/") or "." in rel.rsplit("/", 1)[-1]:
        raise NotFound("not_found", "No such file.")  # a missing file is no app route
    return _index(request)
