"""The caller's own account: profile, password, sessions, two-factor authentication."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from staffroom.accounts.guards import ALLOW_ENROL
from staffroom.accounts.schemas import (
    EmailChangeIn,
    MeOut,
    MePatch,
    PasswordChangeIn,
    RecoveryCodesOut,
    RecoveryRegenerateIn,
    SessionList,
    TotpConfirmIn,
    TotpDisableIn,
    TotpSetupOut,
)
from staffroom.accounts.service import email_change, mfa, password_change, sessions, users
from staffroom.core.context import Principal, RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.web import ACCEPTED, Accepted, errors


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="get_me",
        summary="The signed-in user",
        opt={ALLOW_ENROL: True},
        responses=errors(401),
    )
    async def get_me(self, me: NamedDependency[Principal]) -> MeOut:
        return await users.me(me)

    @patch(
        "",
        operation_id="update_me",
        summary="Change own display name or language",
        responses=errors(401, 403),
    )
    async def update_me(
        self,
        data: JSONBody[MePatch],
        me: NamedDependency[Principal],
        ctx: NamedDependency[RequestContext],
    ) -> MeOut:
        return await users.patch_me(me, data, ctx)

    @post(
        "/password",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="change_password",
        summary="Change own password (ends other sessions)",
        responses=errors(401, 403, 422, 429),
    )
    async def change_password(
        self,
        data: JSONBody[PasswordChangeIn],
        me: NamedDependency[Principal],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> None:
        await password_change.change_password(rt, me, data.current_password, data.new_password, ctx)

    @post(
        "/email",
        status_code=HTTP_202_ACCEPTED,
        operation_id="request_email_change",
        summary="Change own address: a link goes to the new one, a notice to the old one",
        description="The address changes when the link is followed "
        "(POST /api/v1/auth/email-change/confirm). The organisation's domain policy applies.",
        responses=errors(401, 403, 409, 422, 429),
    )
    async def request_email_change(
        self,
        data: JSONBody[EmailChangeIn],
        me: NamedDependency[Principal],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> Accepted:
        await email_change.request(rt, me, data.email, data.password, ctx)
        return ACCEPTED

    @get(
        "/sessions",
        operation_id="list_my_sessions",
        summary="Own active sessions",
        opt={ALLOW_ENROL: True},
        responses=errors(401),
    )
    async def list_sessions(self, me: NamedDependency[Principal]) -> SessionList:
        return SessionList(items=await sessions.list_own(me))

    @delete(
        "/sessions/{session_id:uuid}",
        operation_id="revoke_my_session",
        summary="Sign out one of own sessions",
        opt={ALLOW_ENROL: True},
        responses=errors(401, 404),
    )
    async def revoke_session(
        self,
        session_id: FromPath[uuid.UUID],
        me: NamedDependency[Principal],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> None:
        await sessions.revoke_own(rt, me, session_id, ctx)

    @post(
        "/mfa/totp",
        status_code=HTTP_200_OK,
        operation_id="start_totp_setup",
        summary="Start TOTP setup: secret, otpauth URI and QR code (SVG)",
        opt={ALLOW_ENROL: True},
        responses=errors(401, 409),
    )
    async def totp_setup(
        self, me: NamedDependency[Principal], rt: NamedDependency[Runtime]
    ) -> TotpSetupOut:
        return await mfa.setup(rt, me)

    @post(
        "/mfa/totp/confirm",
        status_code=HTTP_200_OK,
        operation_id="confirm_totp_setup",
        summary="Activate TOTP with a first code; returns 10 recovery codes",
        opt={ALLOW_ENROL: True},
        responses=errors(401, 409, 422, 429),
    )
    async def totp_confirm(
        self,
        data: JSONBody[TotpConfirmIn],
        me: NamedDependency[Principal],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> RecoveryCodesOut:
        return await mfa.confirm(rt, me, data.code, ctx)

    @delete(
        "/mfa/totp",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="disable_totp",
        summary="Turn TOTP off (needs password and a code)",
        responses=errors(401, 403, 404, 429),
    )
    async def totp_disable(
        self,
        data: JSONBody[TotpDisableIn],
        me: NamedDependency[Principal],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> None:
        await mfa.disable(rt, me, data.password, data.code, ctx)

    @post(
        "/mfa/recovery-codes",
        status_code=HTTP_200_OK,
        operation_id="regenerate_recovery_codes",
        summary="Replace all recovery codes (needs a current TOTP code)",
        responses=errors(401, 403, 404, 429),
    )
    async def regenerate_codes(
        self,
        data: JSONBody[RecoveryRegenerateIn],
        me: NamedDependency[Principal],
        rt: NamedDependency[Runtime],
        ctx: NamedDependency[RequestContext],
    ) -> RecoveryCodesOut:
        return await mfa.regenerate_recovery_codes(rt, me, data.code, ctx)
