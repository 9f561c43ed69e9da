"""Sessions (SECURITY.md rule 6): opaque access tokens and rotating refresh tokens.

A session is one login on one device and the family of its refresh tokens. Each
refresh rotates both tokens; presenting a refresh token that was already used means
it was stolen or replayed, so the whole family (the session) is revoked.

Every revocation is announced to the user's open sockets, which close at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from staffroom.accounts.schemas import SessionOut, SessionScope, TokenPair
from staffroom.accounts.service.lookups import role_permissions
from staffroom.accounts.service.rows import (
    AuthenticatedSession,
    DeviceSession,
    SessionOwner,
    SessionRow,
    SessionWithRules,
)
from staffroom.accounts.tables import AuthSession, Org, RefreshToken, User
from staffroom.core import audit, clock, principal_cache, realtime, rotation
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.rows import row_as
from staffroom.core.db.sql import fetch
from staffroom.core.errors import NotFound, Unauthorized
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token

# last_used_at is written at most this often, so reads do not turn into writes.
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(rt: Runtime, token: str, kind: str) -> str:
    return rt.keys.digest(token, purpose=kind)


async def issue(
    rt: Runtime,
    user: dict[str, Any],
    ctx: RequestContext,
    *,
    scope: SessionScope = "full",
    mfa: bool = False,
    session_id: uuid.UUID | None = None,
) -> TokenPair:
    """Start a new session for a user and return its first token pair.

    A caller that must remember the session (SSO, for Single Logout) chooses its id.
    """
    s = rt.settings
    now = clock.utcnow()
    access, refresh = new_token(), new_token()
    session_id = session_id or uuid.uuid4()
    await AuthSession.insert(
        AuthSession(
            id=session_id,
            org=user["org"],
            user=user["id"],
            scope=scope,
            mfa=mfa,
            access_hash=_digest(rt, access, "access"),
            access_expires_at=now + timedelta(seconds=s.access_token_ttl),
            created_at=now,
            last_used_at=now,
            idle_expires_at=now + timedelta(seconds=s.refresh_idle_ttl),
            absolute_expires_at=now + timedelta(seconds=s.session_absolute_ttl),
            ip=ctx.ip[:64],
            user_agent=ctx.user_agent[:300],
        )
    )
    await RefreshToken.insert(
        RefreshToken(
            id=uuid.uuid4(),
            org=user["org"],
            session=session_id,
            token_hash=_digest(rt, refresh, "refresh"),
            created_at=now,
        )
    )
    await User.update({User.last_login_at: now}).where(User.id == user["id"])
    await _warm(rt, access)
    return TokenPair(
        access_token=access, refresh_token=refresh, expires_in=s.access_token_ttl, scope=scope
    )


async def _warm(rt: Runtime, access_token: str) -> None:
    """Put a new access token's principal in this worker's cache: the look-up its first
    request would make, made now (the app's next request usually follows at once)."""
    if principal_cache.of(rt).usable:
        await authenticate(rt, access_token)


# An org's own lifetimes (hours idle, hours since sign-in; None: the server's only).
Limits = tuple[int | None, int | None]


def is_live(session: SessionRow, now: datetime, limits: Limits) -> bool:
    """Not revoked, and within the server's lifetimes and the org's shorter ones."""
    if session.revoked_at is not None:
        return False
    if session.idle_expires_at <= now or session.absolute_expires_at <= now:
        return False
    # The org's lifetimes are checked here, not stamped on the session when it starts, so
    # that shortening them in the security settings ends sessions already running.
    idle, absolute = limits
    if idle is not None and now - session.last_used_at > timedelta(hours=idle):
        return False
    return absolute is None or now - session.created_at <= timedelta(hours=absolute)


async def org_limits(org_id: uuid.UUID) -> Limits:
    """The session lifetimes an org chose for itself."""
    row = (
        await Org.select(Org.session_idle_hours, Org.session_absolute_hours)
        .where(Org.id == org_id)
        .first()
    )
    return (row["session_idle_hours"], row["session_absolute_hours"]) if row else (None, None)


# Every authenticated request runs this, so it is one hand-written statement: the
# session, its user's role and status, the org's MFA rule and a custom role's
# permissions (Piccolo builds a joined select in ~1 ms of Python; this runs in ~0.1 ms).
AUTHENTICATE_SQL = (
    'SELECT s.id, s.org, s."user", s.scope, s.mfa, s.access_expires_at, s.last_used_at,'
    " s.created_at, s.idle_expires_at, s.absolute_expires_at, s.revoked_at,"
    " u.role AS role, u.status AS user_status, o.require_mfa AS org_require_mfa,"
    " o.session_idle_hours AS org_idle, o.session_absolute_hours AS org_absolute,"
    " r.permissions AS role_permissions"
    ' FROM auth_session s JOIN app_user u ON u.id = s."user" JOIN org o ON o.id = s.org'
    " LEFT JOIN custom_role r ON r.org = s.org AND r.key = u.role"
    " WHERE s.access_hash = {}"
)


async def authenticate(rt: Runtime, access_token: str, *, cached: bool = True) -> Principal | None:
    """The principal behind an access token, or None if it is unknown, expired or revoked.

    Kept in the worker's principal cache (`core/principal_cache.py`) when it is usable;
    `cached=False` always asks the database (an open socket's re-checks: they follow the
    same announcements the cache drops on, which may reach this process first)."""
    digest = _digest(rt, access_token, "access")
    cache = principal_cache.of(rt)
    if cached and (hit := cache.get(digest)) is not None:
        return hit
    epoch = cache.epoch
    now = clock.utcnow()
    rows = await fetch(AuthSession, AUTHENTICATE_SQL, digest)
    if not rows:
        return None
    row = row_as(AuthenticatedSession, rows[0])
    if row.access_expires_at <= now:
        return None
    if not is_live(row, now, (row.org_idle, row.org_absolute)):
        return None
    if row.user_status != "active":
        return None
    if now - row.last_used_at > _TOUCH_EVERY:
        await AuthSession.update({AuthSession.last_used_at: now}).where(AuthSession.id == row.id)
    principal = Principal(
        org_id=row.org,
        user_id=row.user,
        role=row.role,
        permissions=role_permissions(row.role, row.role_permissions),
        session_id=row.id,
        # An org that turns MFA on restricts sessions that never passed MFA at once.
        scope="enrol" if row.org_require_mfa and not row.mfa else row.scope,
    )
    if cached:
        cache.put(digest, principal, epoch, _ends(row, now))
    return principal


def _ends(row: AuthenticatedSession, now: datetime) -> list[datetime]:
    """When an authenticated session stops being valid on its own: its access token's,
    idle and absolute expiry, and the org's own lifetimes (a cache entry never outlives
    them)."""
    own = (row.access_expires_at, row.idle_expires_at, row.absolute_expires_at)
    ends = [clock.as_utc(moment) for moment in own]
    if row.org_idle is not None:
        # Measured from this request when it just touched the session, as is_live reads it.
        used = now if now - row.last_used_at > _TOUCH_EVERY else row.last_used_at
        ends.append(clock.as_utc(used) + timedelta(hours=row.org_idle))
    if row.org_absolute is not None:
        ends.append(clock.as_utc(row.created_at) + timedelta(hours=row.org_absolute))
    return ends


async def refresh(rt: Runtime, refresh_token: str, ctx: RequestContext) -> TokenPair:
    """Rotate a refresh token; a reused one revokes its whole session."""
    s = rt.settings
    now = clock.utcnow()
    token_hash = _digest(rt, refresh_token, "refresh")
    invalid = Unauthorized("invalid_refresh_token", "The refresh token is not valid.")
    # Atomic: only one concurrent caller can mark an unused token as used.
    claimed = await rotation.claim(RefreshToken, RefreshToken.session, token_hash, now)
    if claimed is None:
        raise invalid
    if claimed.reused:
        await revoke(rt, claimed.family, "refresh_reuse")
        await audit.record(
            "session.refresh_reuse",
            outcome="denied",
            ctx=ctx,
            org_id=claimed.org,
            target_type="session",
            target_id=claimed.family,
        )
        raise invalid
    session_id = claimed.family
    found = (
        await AuthSession.select(
            *AuthSession.all_columns(),
            AuthSession.user.status.as_alias("user_status"),
            AuthSession.org.session_idle_hours.as_alias("org_idle"),
            AuthSession.org.session_absolute_hours.as_alias("org_absolute"),
            AuthSession.org.require_mfa.as_alias("org_require_mfa"),
        )
        .where(AuthSession.id == session_id)
        .first()
    )
    if found is None:
        raise invalid
    session = row_as(SessionWithRules, found)
    if session.user_status != "active":
        raise invalid
    if not is_live(session, now, (session.org_idle, session.org_absolute)):
        raise invalid
    access, new_refresh = new_token(), new_token()
    await AuthSession.update(
        {
            AuthSession.access_hash: _digest(rt, access, "access"),
            AuthSession.access_expires_at: now + timedelta(seconds=s.access_token_ttl),
            AuthSession.last_used_at: now,
            AuthSession.idle_expires_at: now + timedelta(seconds=s.refresh_idle_ttl),
        }
    ).where(AuthSession.id == session_id)
    # The access token it replaces stops now on every worker, as it does in the database.
    await realtime.announce_principals_changed(rt.relay, session.org, session_ids=[session_id])
    await RefreshToken.insert(
        RefreshToken(
            id=uuid.uuid4(),
            org=session.org,
            session=session_id,
            token_hash=_digest(rt, new_refresh, "refresh"),
            created_at=now,
        )
    )
    await _warm(rt, access)
    return TokenPair(
        access_token=access,
        refresh_token=new_refresh,
        expires_in=s.access_token_ttl,
        # As `authenticate` sees it: an org that requires MFA since the sign-in restricts a
        # session that never passed MFA, and the client learns so here.
        scope="enrol"
        if session.scope == "enrol" or (session.org_require_mfa and not session.mfa)
        else "full",
    )


async def revoke(rt: Runtime, session_id: uuid.UUID, reason: str) -> None:
    """Revoke one session (idempotent)."""
    rows = (
        await AuthSession.update(
            {AuthSession.revoked_at: clock.utcnow(), AuthSession.revoke_reason: reason}
        )
        .where((AuthSession.id == session_id) & AuthSession.revoked_at.is_null())
        .returning(AuthSession.id, AuthSession.org, AuthSession.user)
    )
    await _announce(rt, rows)


async def revoke_user(
    rt: Runtime, user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None
) -> int:
    """Revoke every live session of a user, except `keep`; returns how many."""
    where = (AuthSession.user == user_id) & AuthSession.revoked_at.is_null()
    if keep is not None:
        where &= AuthSession.id != keep
    rows = (
        await AuthSession.update(
            {AuthSession.revoked_at: clock.utcnow(), AuthSession.revoke_reason: reason}
        )
        .where(where)
        .returning(AuthSession.id, AuthSession.org, AuthSession.user)
    )
    await _announce(rt, rows)
    return len(rows)


async def _announce(rt: Runtime, revoked: list[dict[str, Any]]) -> None:
    """Open sockets of the revoked sessions close now, not at their next re-check."""
    owners = [row_as(SessionOwner, r) for r in revoked]
    if owners:
        org_id, user_id = owners[0].org, owners[0].user  # one user's sessions
        ids = [o.id for o in owners]
        await realtime.announce_sessions_ended(rt.relay, org_id, user_id, ids)


async def list_own(principal: Principal) -> list[SessionOut]:
    """The caller's live sessions, newest first."""
    now = clock.utcnow()
    limits = await org_limits(principal.org_id)
    rows = (
        await AuthSession.select()
        .where(
            (AuthSession.user == principal.user_id)
            & (AuthSession.org == principal.org_id)
            & AuthSession.revoked_at.is_null()
        )
        .order_by(AuthSession.created_at, ascending=False)
    )
    return session_list([row_as(DeviceSession, r) for r in rows], now, limits, principal)


def session_list(
    rows: list[DeviceSession], now: datetime, limits: Limits, principal: Principal
) -> list[SessionOut]:
    """The live ones of a person's sessions as listed (`current`: the caller's own)."""
    return [
        SessionOut(
            id=r.id,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            ip=r.ip,
            user_agent=r.user_agent,
            scope=r.scope,
            mfa=r.mfa,
            current=r.id == principal.session_id,
        )
        for r in rows
        if is_live(r, now, limits)
    ]


async def revoke_own(
    rt: Runtime, principal: Principal, session_id: uuid.UUID, ctx: RequestContext
) -> None:
    """Revoke one of the caller's own sessions; anyone else's is not found."""
    rows = (
        await AuthSession.update(
            {AuthSession.revoked_at: clock.utcnow(), AuthSession.revoke_reason: "user_revoked"}
        )
        .where(
            (AuthSession.id == session_id)
            & (AuthSession.user == principal.user_id)
            & (AuthSession.org == principal.org_id)
            & AuthSession.revoked_at.is_null()
        )
        .returning(AuthSession.id, AuthSession.org, AuthSession.user)
    )
    if not rows:
        raise NotFound("session_not_found", "No such session.")
    await _announce(rt, rows)
    await audit.record(
        "session.revoked",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="session",
        target_id=session_id,
    )
