"""Liveness and readiness probes."""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from staffroom.accounts.guards import PUBLIC
from staffroom.core.db.sql import fetch
from staffroom.core.errors import Unavailable
from staffroom.core.tables import AuditEvent
from staffroom.core.web import errors


class Health(msgspec.Struct):
    status: str


class HealthController(Controller):
    path = "/health"
    tags = ["health"]
    opt = {PUBLIC: True}

    @get("/live", operation_id="health_live", summary="The process is up", responses=errors())
    async def live(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready", operation_id="health_ready", summary="The database answers", responses=errors(503)
    )
    async def ready(self) -> Health:
        try:
            # A core table: the probe needs only the engine every table shares.
            await fetch(AuditEvent, "SELECT 1")
        except Exception as exc:
            raise Unavailable("database_unavailable", "The database does not answer.") from exc
        return Health(status="ok")
