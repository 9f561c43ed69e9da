"""The interactive API documentation (Swagger UI at /schema) with its files served by us
from the swagger-ui-py package, so the page works without internet and the CSP names no
other site."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath
from litestar.response import File

from staffroom.accounts.guards import PUBLIC

STATIC = "/schema/static"
# The files the page loads, and their types: nothing else of the package is served.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
# A new release of the package changes the URLs (?v=…), so browsers may keep a file a year.
_CACHE = "public, max-age=31536000, immutable"


def _static_dir() -> Path:
    """The package's folder of Swagger UI files (found without importing the package,
    which would load its framework adapters)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _url(name: str) -> str:
    return f"{STATIC}/{name}?v={importlib.metadata.version('swagger-ui-py')}"


def swagger_plugin() -> SwaggerRenderPlugin:
    """Swagger UI loading its script, styles and icon from us instead of a CDN."""
    return SwaggerRenderPlugin(
        js_url=_url("swagger-ui-bundle.js"),
        css_url=_url("swagger-ui.css"),
        standalone_preset_js_url=_url("swagger-ui-standalone-preset.js"),
        favicon=f"<link rel='icon' type='image/png' href='{_url('favicon-32x32.png')}'>",
    )


class DocsAssetsController(Controller):
    path = STATIC
    opt = {PUBLIC: True}
    include_in_schema = False

    @get("/{name:str}", sync_to_thread=False)
    def asset(self, name: FromPath[str]) -> File:
        """One of the documentation page's files, cached for long."""
        media_type = _ASSETS.get(name)
        if media_type is None:
            raise NotFoundException()
        return File(
            _static_dir() / name,
            media_type=media_type,
            content_disposition_type="inline",
            headers={"Cache-Control": _CACHE},
        )
