"""HTTP routes of compliance: the caller's data export, erasure by an admin."""

from __future__ import annotations

import uuid

from litestar import Controller, Router, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Stream
from litestar.status_codes import HTTP_204_NO_CONTENT

from staffroom.accounts.guards import requires
from staffroom.compliance.schemas import EraseIn
from staffroom.compliance.service import erasure, export
from staffroom.core.web import Ctx, Me, Rt, errors


class ComplianceController(Controller):
    path = "/"
    tags = ["compliance"]
    security = [{"bearer": []}]

    @get(
        "/me/export",
        operation_id="export_my_data",
        summary="Everything about the caller as a ZIP (JSON files, media, a README)",
        responses=errors(401, 429),
        media_type="application/zip",
    )
    async def export_mine(self, me: Me, rt: Rt, ctx: Ctx) -> Stream:
        done = await export.build(rt, me, ctx)
        return Stream(
            done.chunks(),
            media_type="application/zip",
            headers={
                "Content-Disposition": 'attachment; filename="staffroom-export.zip"',
                "Content-Length": str(done.size),
            },
        )

    @post(
        "/users/{user_id:uuid}/erase",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="erase_user",
        summary="Erase a person's personal data (GDPR Art. 17), with the reason audited",
        guards=[requires("compliance.manage")],
        responses=errors(401, 403, 404, 409, 422),
    )
    async def erase(
        self, user_id: FromPath[uuid.UUID], data: JSONBody[EraseIn], me: Me, rt: Rt, ctx: Ctx
    ) -> None:
        await erasure.erase(rt, me, user_id, data.reason.strip(), ctx)


# One router for the domain: the API's path prefix is said here, once.
ROUTER = Router(path="/api/v1", route_handlers=[ComplianceController])
