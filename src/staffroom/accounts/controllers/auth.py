"""Public authentication routes: discovery, login, MFA, refresh, logout, password reset."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from staffroom.accounts import web_session
from staffroom.accounts.guards import ALLOW_ENROL, PUBLIC
from staffroom.accounts.schemas import (
    DiscoverIn,
    DiscoverOut,
    EmailConfirmIn,
    LoginIn,
    MfaChallenge,
    MfaIn,
    RefreshIn,
    ResetConfirmIn,
    ResetRequestIn,
    TokenPair,
)
from staffroom.accounts.service import auth, email_change, password_reset, sessions
from staffroom.core.context import Principal, RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.web import ACCEPTED, Accepted, errors


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    opt = {PUBLIC: True}

    @post(
        "/discover",
        status_code=HTTP_200_OK,
        operation_id="discover",
        summary="Which organisations and sign-in methods apply to an email address",
        responses=errors(422),
    )
    async def discover(
        self, data: JSONBody[DiscoverIn], rt: NamedDependency[Runtime]
    ) -> DiscoverOut:
        return await auth.discover(rt, data.email)

    @post(
        "/login",
        status_code=HTTP_200_OK,
        operation_id="login",
        summary="Sign in with email or username and password",
        responses=errors(401, 403, 404, 429, 503),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginIn],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> Response[TokenPair | MfaChallenge]:
        result = await auth.login(rt, data.org, data.login, data.password, ctx)
        return web_session.respond(request, result)

    @post(
        "/mfa",
        status_code=HTTP_200_OK,
        operation_id="login_mfa",
        summary="Finish sign-in with a TOTP or recovery code",
        responses=errors(401, 429),
    )
    async def mfa(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[MfaIn],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> Response[TokenPair]:
        pair = await auth.complete_mfa(rt, data.mfa_token, data.code, ctx)
        return web_session.respond(request, pair)

    @post(
        "/refresh",
        status_code=HTTP_200_OK,
        operation_id="refresh_tokens",
        summary="Rotate the refresh token and get a new access token",
        description="Mobile apps send `refresh_token`; the web app sends `{}` with the "
        "header `X-Staffroom-Client: web` and its HttpOnly cookie (its own origin only).",
        responses=errors(401, 403),
    )
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RefreshIn],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> Response[TokenPair]:
        token = data.refresh_token
        if token is None:
            token = web_session.refresh_token_from_cookie(request)
        pair = await sessions.refresh(rt, token, ctx)
        return web_session.respond(request, pair)

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="logout",
        summary="End the current session",
        opt={PUBLIC: False, ALLOW_ENROL: True},
        security=[{"bearer": []}],
        responses=errors(401),
        # The web app's refresh cookie goes too (the session behind it is revoked anyway).
        response_cookies=[web_session.cleared()],
    )
    async def logout(
        self,
        me: NamedDependency[Principal],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> None:
        await auth.logout(rt, me, ctx)

    @post(
        "/password-reset",
        status_code=HTTP_202_ACCEPTED,
        operation_id="request_password_reset",
        summary="Email a password reset link (always 202)",
        responses=errors(429),
    )
    async def password_reset(
        self,
        data: JSONBody[ResetRequestIn],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> Response[Accepted]:
        await password_reset.reset_rate_limit(rt, data.org, data.login, ctx)
        # The work happens after the 202 is sent: no timing difference between accounts.
        task = BackgroundTask(password_reset.request_password_reset, rt, data.org, data.login, ctx)
        return Response(ACCEPTED, status_code=HTTP_202_ACCEPTED, background=task)

    @post(
        "/email-change/confirm",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="confirm_email_change",
        summary="Apply an address change with the link sent to the new address",
        responses=errors(401, 409, 422),
    )
    async def email_change_confirm(
        self,
        data: JSONBody[EmailConfirmIn],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> None:
        await email_change.confirm(rt, data.token, ctx)

    @post(
        "/password-reset/confirm",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="confirm_password_reset",
        summary="Set a new password with a reset or account-setup link",
        responses=errors(401, 422),
    )
    async def password_reset_confirm(
        self,
        data: JSONBody[ResetConfirmIn],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> None:
        await password_reset.confirm_password_token(rt, data.token, data.password, ctx)
