"""Extra app instances with changed settings (several instances, proxies, Redis)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from staffroom.app import create_app, lifespan


@contextlib.asynccontextmanager
async def app_client(
    settings: Any, peer: str = "198.51.100.7", **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for a new app built from settings with `changes`, seen from `peer`."""
    app = create_app(msgspec.structs.replace(settings, **changes))
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
