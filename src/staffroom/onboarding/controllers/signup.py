"""Public routes of self-signup in an organisation's verified domains."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from staffroom.accounts import web_session
from staffroom.accounts.guards import PUBLIC
from staffroom.core.context import RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.web import ACCEPTED, Accepted, errors
from staffroom.onboarding.schemas import (
    AcceptedOut,
    SignupCompleteIn,
    SignupIn,
    SignupPublic,
    SignupTokenIn,
)
from staffroom.onboarding.service import signup

Ctx = NamedDependency[RequestContext]
Rt = NamedDependency[Runtime]


class PublicSignupController(Controller):
    path = "/api/v1/public/signup"
    tags = ["signup"]
    opt = {PUBLIC: True}

    @post(
        "",
        status_code=HTTP_202_ACCEPTED,
        operation_id="request_signup",
        summary="Ask to join an organisation with a work address (always 202)",
        description="When the address is in one of the organisation's verified domains, a "
        "link valid 24 hours is emailed. The answer never says whether that happened.",
        responses=errors(422, 429),
    )
    async def request(self, data: JSONBody[SignupIn], rt: Rt, ctx: Ctx) -> Response[Accepted]:
        address = await signup.rate_limit(rt, data.org, data.email, ctx)
        # The work happens after the 202 is sent: no timing difference between addresses.
        task = BackgroundTask(signup.request, rt, data.org, address, ctx)
        return Response(ACCEPTED, status_code=HTTP_202_ACCEPTED, background=task)

    @post(
        "/preview",
        status_code=HTTP_200_OK,
        operation_id="preview_signup",
        summary="The organisation and address of a signup link, before completing it",
        responses=errors(404, 410, 422),
    )
    async def preview(self, data: JSONBody[SignupTokenIn], rt: Rt) -> SignupPublic:
        return await signup.preview(rt, data.token)

    @post(
        "/complete",
        status_code=HTTP_200_OK,
        operation_id="complete_signup",
        summary="Choose a name and password with a signup link, and sign in",
        responses=errors(404, 409, 410, 422, 429),
    )
    async def complete(
        self, request: Request[Any, Any, Any], data: JSONBody[SignupCompleteIn], rt: Rt, ctx: Ctx
    ) -> Response[AcceptedOut]:
        out = await signup.complete(rt, data.token, data.display_name, data.password, ctx)
        return web_session.respond(request, out)
