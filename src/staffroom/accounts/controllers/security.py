"""Administration of access: a person's sign-in methods and sessions, the org's security
summary, and the audit chain's verification."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from staffroom.accounts.guards import PEOPLE_ONLY, requires
from staffroom.accounts.schemas import (
    AuditVerificationOut,
    OrgSecurityOut,
    SessionList,
    SessionsRevokedOut,
    SignInOut,
)
from staffroom.accounts.service import audit_log, orgs, person_access
from staffroom.core.context import Principal, RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.web import errors

Me = NamedDependency[Principal]
Ctx = NamedDependency[RequestContext]
Rt = NamedDependency[Runtime]


class PersonAccessController(Controller):
    path = "/api/v1/users/{user_id:uuid}"
    tags = ["users"]
    security = [{"bearer": []}]
    guards = [requires("users.manage")]
    opt = {PEOPLE_ONLY: True}

    @get(
        "/sign-in",
        operation_id="get_user_sign_in",
        summary="How a user signs in: address or username, password, linked IdPs, 2FA state",
        responses=errors(401, 403, 404),
    )
    async def sign_in(self, user_id: FromPath[uuid.UUID], me: Me, rt: Rt) -> SignInOut:
        return await person_access.sign_in(rt, me, user_id)

    @get(
        "/sessions",
        operation_id="list_user_sessions",
        summary="A user's active sessions (devices), newest first",
        responses=errors(401, 403, 404),
    )
    async def list_sessions(self, user_id: FromPath[uuid.UUID], me: Me) -> SessionList:
        return SessionList(items=await person_access.list_sessions(me, user_id))

    @delete(
        "/sessions/{session_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="revoke_user_session",
        summary="Sign a user out of one session (their open sockets close at once)",
        responses=errors(401, 403, 404),
    )
    async def revoke_session(
        self,
        user_id: FromPath[uuid.UUID],
        session_id: FromPath[uuid.UUID],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> None:
        await person_access.revoke_session(rt, me, user_id, session_id, ctx)

    @delete(
        "/sessions",
        status_code=HTTP_200_OK,
        operation_id="revoke_user_sessions",
        summary="Sign a user out everywhere (an admin's own: all but the session in use)",
        responses=errors(401, 403, 404),
    )
    async def revoke_all(
        self, user_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx
    ) -> SessionsRevokedOut:
        return SessionsRevokedOut(revoked=await person_access.revoke_all(rt, me, user_id, ctx))


class OrgSecurityController(Controller):
    path = "/api/v1/org/security"
    tags = ["org"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="get_org_security",
        summary="Who has not set up 2FA yet, and the server's session lifetimes",
        guards=[requires("org.manage")],
        responses=errors(401, 403),
    )
    async def get_security(self, me: Me, rt: Rt) -> OrgSecurityOut:
        return await orgs.security(rt, me)


class AuditVerificationController(Controller):
    path = "/api/v1/audit-events/verification"
    tags = ["audit"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="verify_audit_events",
        summary="Check the org's audit hash chain now (as `staffroom audit verify` does)",
        guards=[requires("audit.read")],
        responses=errors(401, 403),
    )
    async def verify(self, me: Me) -> AuditVerificationOut:
        return await audit_log.verification(me)
