"""An admin's view of one person's access: how they sign in, their 2FA state, their
sessions (listed and revoked one by one or all at once)."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.accounts.schemas import SessionOut, SignInOut, SsoLinkOut
from staffroom.accounts.service import hooks, sessions
from staffroom.accounts.service.lookups import user_in_org
from staffroom.accounts.service.rows import DeviceSession
from staffroom.accounts.tables import AuthSession, RecoveryCode, TotpFactor
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.rows import row_as
from staffroom.core.errors import Forbidden, NotFound
from staffroom.core.runtime import Runtime


async def _target(principal: Principal, user_id: uuid.UUID) -> dict[str, Any]:
    """A person of the caller's org whose sessions the caller may end."""
    target = await user_in_org(principal.org_id, user_id)
    # As with deactivation: only owners act on owners.
    if target["role"] == "owner" and principal.role != "owner":
        raise Forbidden("owner_only", "Only an owner can end an owner's sessions.")
    return target


async def sign_in(rt: Runtime, principal: Principal, user_id: uuid.UUID) -> SignInOut:
    """How a person can sign in and their second factor, without any secret."""
    user = await user_in_org(principal.org_id, user_id)
    factor = (
        await TotpFactor.select(TotpFactor.confirmed_at, TotpFactor.locked_until)
        .where((TotpFactor.user == user_id) & (TotpFactor.org == principal.org_id))
        .first()
    )
    enabled = factor is not None and factor["confirmed_at"] is not None
    codes_left = (
        await RecoveryCode.count().where(
            (RecoveryCode.user == user_id)
            & (RecoveryCode.org == principal.org_id)
            & RecoveryCode.used_at.is_null()
        )
        if enabled
        else 0
    )
    locked = factor["locked_until"] if factor is not None else None
    links: list[dict[str, Any]] = []
    for provider in hooks.of(rt).sso_links:
        links += await provider(principal.org_id, user_id)
    return SignInOut(
        email=user["email"],
        username=user["username"],
        password=user["password_hash"] is not None,
        sso=[SsoLinkOut(**link) for link in links],
        sso_break_glass=user["sso_break_glass"],
        mfa_enabled=enabled,
        mfa_enabled_at=factor["confirmed_at"] if enabled and factor is not None else None,
        mfa_locked_until=locked if locked is not None and locked > clock.utcnow() else None,
        recovery_codes_left=codes_left,
    )


async def list_sessions(principal: Principal, user_id: uuid.UUID) -> list[SessionOut]:
    """A person's live sessions, newest first (`current`: the caller's own)."""
    await user_in_org(principal.org_id, user_id)
    now = clock.utcnow()
    limits = await sessions.org_limits(principal.org_id)
    rows = (
        await AuthSession.select()
        .where(
            (AuthSession.user == user_id)
            & (AuthSession.org == principal.org_id)
            & AuthSession.revoked_at.is_null()
        )
        .order_by(AuthSession.created_at, ascending=False)
    )
    return sessions.session_list([row_as(DeviceSession, r) for r in rows], now, limits, principal)


async def revoke_session(
    rt: Runtime,
    principal: Principal,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    ctx: RequestContext,
) -> None:
    """End one session of a person; a session of someone else (or another org) is not found."""
    await _target(principal, user_id)
    rows = (
        await AuthSession.update(
            {AuthSession.revoked_at: clock.utcnow(), AuthSession.revoke_reason: "admin_revoked"}
        )
        .where(
            (AuthSession.id == session_id)
            & (AuthSession.user == user_id)
            & (AuthSession.org == principal.org_id)
            & AuthSession.revoked_at.is_null()
        )
        .returning(AuthSession.id)
    )
    if not rows:
        raise NotFound("session_not_found", "No such session.")
    await realtime.announce_sessions_ended(rt.relay, principal.org_id, user_id, [session_id])
    await audit.by(
        principal,
        ctx,
        "session.revoked_by_admin",
        ("session", session_id),
        {"user_id": str(user_id)},
    )


async def revoke_all(
    rt: Runtime, principal: Principal, user_id: uuid.UUID, ctx: RequestContext
) -> int:
    """End every session of a person (an admin's own: all but the one in use)."""
    await _target(principal, user_id)
    keep = principal.session_id if user_id == principal.user_id else None
    revoked = await sessions.revoke_user(rt, user_id, "admin_revoked", keep=keep)
    await audit.by(principal, ctx, "user.sessions_revoked", ("user", user_id), {"count": revoked})
    return revoked
