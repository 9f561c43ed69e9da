"""HTTP routes of email invites: admin management and the public invite pages."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, RawBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from staffroom.accounts import web_session
from staffroom.accounts.guards import PUBLIC, requires
from staffroom.core.context import Principal, RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.web import errors
from staffroom.onboarding.schemas import (
    AcceptedOut,
    ImportReport,
    InviteAcceptIn,
    InviteIn,
    InviteOut,
    InvitePage,
    InvitePublic,
)
from staffroom.onboarding.service import importer, invites

Me = NamedDependency[Principal]
Ctx = NamedDependency[RequestContext]
Rt = NamedDependency[Runtime]
Token = Annotated[str, Parameter(min_length=1, max_length=256)]
# A 10,000-row staff list is well under this; everything else stays at the 1 MiB default.
IMPORT_MAX_BYTES = 8 * 1024 * 1024


class InvitesController(Controller):
    path = "/api/v1/invites"
    tags = ["invites"]
    security = [{"bearer": []}]
    guards = [requires("users.invite")]

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="create_invite",
        summary="Invite one address with a role and groups",
        responses=errors(401, 403, 409, 422, 429),
    )
    async def create(self, data: JSONBody[InviteIn], me: Me, rt: Rt, ctx: Ctx) -> InviteOut:
        return await invites.create(rt, me, data, ctx)

    @get(
        "",
        operation_id="list_invites",
        summary="Invites with their status",
        responses=errors(401, 403, 422),
    )
    async def list_invites(
        self,
        me: Me,
        status: FromQuery[Literal["pending", "accepted", "expired", "revoked"] | None] = None,
        q: FromQuery[Annotated[str | None, Parameter(max_length=200)]] = None,
        cursor: FromQuery[Annotated[str | None, Parameter(max_length=200)]] = None,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 50,
    ) -> InvitePage:
        return await invites.list_invites(me, status, q, cursor, limit)

    @get(
        "/{invite_id:uuid}",
        operation_id="get_invite",
        summary="One invite",
        responses=errors(401, 403, 404),
    )
    async def get_invite(self, invite_id: FromPath[uuid.UUID], me: Me) -> InviteOut:
        return await invites.get(me, invite_id)

    @post(
        "/{invite_id:uuid}/resend",
        status_code=HTTP_200_OK,
        operation_id="resend_invite",
        summary="Send a new link; the old one stops working",
        responses=errors(401, 403, 404, 409, 429),
    )
    async def resend(self, invite_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx) -> InviteOut:
        return await invites.resend(rt, me, invite_id, ctx)

    @delete(
        "/{invite_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="revoke_invite",
        summary="Withdraw a pending invite",
        responses=errors(401, 403, 404, 409),
    )
    async def revoke(self, invite_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await invites.revoke(me, invite_id, ctx)

    @post(
        "/import",
        status_code=HTTP_200_OK,
        operation_id="import_invites",
        summary="Invite from a CSV body (email, display_name, role, groups, employee_id)",
        description="UTF-8 CSV (BOM allowed), `,` or `;`. With dry_run=true nothing changes "
        "and the report says per row what would happen. Running it twice invites nobody twice.",
        request_max_body_size=IMPORT_MAX_BYTES,
        responses=errors(401, 403, 413, 422, 429),
    )
    async def import_csv(
        self, body: RawBody, me: Me, rt: Rt, ctx: Ctx, dry_run: FromQuery[bool] = True
    ) -> ImportReport:
        return await importer.run_import(rt, me, bytes(body), dry_run=dry_run, ctx=ctx)


class PublicInvitesController(Controller):
    path = "/api/v1/public/invites"
    tags = ["invites"]
    opt = {PUBLIC: True}

    @get(
        "/{token:str}",
        operation_id="view_invite",
        summary="The org and address of an invite, before accepting",
        responses=errors(404, 410),
    )
    async def view(self, token: FromPath[Token], rt: Rt) -> InvitePublic:
        return await invites.view(rt, token)

    @post(
        "/{token:str}/accept",
        status_code=HTTP_200_OK,
        operation_id="accept_invite",
        summary="Create the invited account and sign in",
        responses=errors(404, 409, 410, 422, 429),
    )
    async def accept(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[Token],
        data: JSONBody[InviteAcceptIn],
        rt: Rt,
        ctx: Ctx,
    ) -> Response[AcceptedOut]:
        out = await invites.accept(rt, token, data.display_name, data.password, ctx)
        return web_session.respond(request, out)
