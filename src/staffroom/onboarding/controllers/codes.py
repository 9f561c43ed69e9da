"""HTTP routes of frontline access codes: batches for HR, redemption for the public."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, RawBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from staffroom.accounts import web_session
from staffroom.accounts.guards import PUBLIC, requires
from staffroom.core.context import Principal, RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.web import errors
from staffroom.onboarding.schemas import (
    AcceptedOut,
    BatchPage,
    CodeBatchCreated,
    CodeBatchIn,
    CodeBatchOut,
    CodePage,
    RedeemIn,
)
from staffroom.onboarding.service import code_delivery, codes, redemption

Me = NamedDependency[Principal]
Ctx = NamedDependency[RequestContext]
Rt = NamedDependency[Runtime]
Format = Literal["json", "csv", "pdf"]
Cursor = Annotated[str | None, Parameter(max_length=200)]
Limit = Annotated[int, Parameter(ge=1, le=500)]
FORMAT_DOC = (
    "The codes are shown only in this answer. `format=json` (default) returns them in the "
    "body; `csv` a spreadsheet; `pdf` printable A4 sheets of cut-out cards with a QR code "
    "of the redeem link (about 3 ms a card)."
)


def _deliver(delivery: code_delivery.Delivery) -> Response[Any]:
    # The codes are secrets: no cache, proxy or browser history may keep this answer.
    headers = {"Cache-Control": "no-store"}
    if delivery.file is None:
        return Response(delivery.created, status_code=HTTP_201_CREATED, headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{delivery.filename}"'
    return Response(
        delivery.file,
        status_code=HTTP_201_CREATED,
        media_type=delivery.media_type,
        headers=headers,
    )


@dataclass
class CodeSheets(Operation):
    """The 201 of code batches is JSON, CSV or a PDF of cards (`format`): say so."""

    def __post_init__(self) -> None:
        created = (self.responses or {}).get("201")
        if isinstance(created, OpenAPIResponse) and created.content is not None:
            created.content["text/csv"] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
            created.content["application/pdf"] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            )


class AccessCodesController(Controller):
    path = "/api/v1/access-codes"
    tags = ["access codes"]
    security = [{"bearer": []}]
    guards = [requires("users.invite")]

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="create_access_codes",
        summary="Create a batch of one-time access codes (optionally one per listed person)",
        description=FORMAT_DOC,
        responses=errors(401, 403, 409, 422),
        operation_class=CodeSheets,
    )
    async def create(
        self,
        data: JSONBody[CodeBatchIn],
        me: Me,
        rt: Rt,
        ctx: Ctx,
        format: FromQuery[Format] = "json",
    ) -> Response[CodeBatchCreated]:
        return _deliver(await code_delivery.issue(rt, me, data, ctx, format))

    @post(
        "/import",
        status_code=HTTP_201_CREATED,
        operation_id="import_access_code_people",
        summary="Create one bound code per person of a CSV (employee_id, display_name)",
        description="Each person gets a pre-provisioned profile that their card activates. "
        + FORMAT_DOC,
        request_max_body_size=2 * 1024 * 1024,
        responses=errors(401, 403, 409, 413, 422),
        operation_class=CodeSheets,
    )
    async def import_people(
        self,
        body: RawBody,
        me: Me,
        rt: Rt,
        ctx: Ctx,
        label: FromQuery[Annotated[str, Parameter(min_length=1, max_length=120)]],
        role: FromQuery[Annotated[str, Parameter(min_length=1, max_length=64)]] = "member",
        group_ids: FromQuery[Annotated[list[uuid.UUID] | None, Parameter(max_items=100)]] = None,
        expires_in_days: FromQuery[Annotated[int, Parameter(ge=1, le=365)]] = 30,
        format: FromQuery[Format] = "json",
    ) -> Response[CodeBatchCreated]:
        data = await code_delivery.batch_from_csv(
            rt,
            me,
            ctx,
            bytes(body),
            label=label,
            role=role,
            group_ids=group_ids or [],
            expires_in_days=expires_in_days,
        )
        return _deliver(await code_delivery.issue(rt, me, data, ctx, format))

    @get(
        "",
        operation_id="list_access_codes",
        summary="Access codes with their status (never the codes themselves)",
        responses=errors(401, 403, 422),
    )
    async def list_codes(
        self,
        me: Me,
        batch_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[Literal["unused", "redeemed", "revoked", "expired"] | None] = None,
        cursor: FromQuery[Cursor] = None,
        limit: FromQuery[Limit] = 100,
    ) -> CodePage:
        return await codes.list_codes(me, batch_id, status, cursor, limit)

    @delete(
        "/{code_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="revoke_access_code",
        summary="Withdraw one unredeemed code (a lost card)",
        responses=errors(401, 403, 404, 409),
    )
    async def revoke(self, code_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await codes.revoke_code(me, code_id, ctx)

    @get(
        "/batches",
        operation_id="list_access_code_batches",
        summary="Batches of access codes with counts by status",
        responses=errors(401, 403, 422),
    )
    async def list_batches(
        self, me: Me, cursor: FromQuery[Cursor] = None, limit: FromQuery[Limit] = 50
    ) -> BatchPage:
        return await codes.list_batches(me, cursor, limit)

    @get(
        "/batches/{batch_id:uuid}",
        operation_id="get_access_code_batch",
        summary="One batch with counts by status",
        responses=errors(401, 403, 404),
    )
    async def get_batch(self, batch_id: FromPath[uuid.UUID], me: Me) -> CodeBatchOut:
        return await codes.get_batch(me, batch_id)

    @delete(
        "/batches/{batch_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="revoke_access_code_batch",
        summary="Withdraw every unredeemed code of a batch",
        responses=errors(401, 403, 404),
    )
    async def revoke_batch(self, batch_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await codes.revoke_batch(me, batch_id, ctx)


class PublicAccessCodesController(Controller):
    path = "/api/v1/public/access-codes"
    tags = ["access codes"]
    opt = {PUBLIC: True}

    @post(
        "/redeem",
        status_code=HTTP_200_OK,
        operation_id="redeem_access_code",
        summary="Turn a printed code into an account (choose username and password) and sign in",
        responses=errors(404, 409, 410, 422, 429, 503),
    )
    async def redeem(
        self, request: Request[Any, Any, Any], data: JSONBody[RedeemIn], rt: Rt, ctx: Ctx
    ) -> Response[AcceptedOut]:
        out = await redemption.redeem(rt, data, ctx)
        return web_session.respond(request, out)
