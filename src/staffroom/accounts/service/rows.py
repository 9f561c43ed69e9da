"""Accounts' rows on the hot paths, typed (`core/db/rows.py`): a session as every request
reads it, a person as their own profile and the other domains read them, and an org's
settings."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    """The auth_session columns that say whether a session is live (`sessions.is_live`)."""

    id: uuid.UUID
    org: uuid.UUID
    user: uuid.UUID
    scope: str
    mfa: bool
    created_at: datetime
    last_used_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    revoked_at: datetime | None


class DeviceSession(SessionRow, frozen=True, kw_only=True):
    """A session as its list shows it: where it was signed in from."""

    ip: str
    user_agent: str


class SessionWithRules(SessionRow, frozen=True, kw_only=True):
    """A session with its user's status and its org's rules (a refresh reads this)."""

    user_status: str
    org_require_mfa: bool
    org_idle: int | None
    org_absolute: int | None


class AuthenticatedSession(SessionWithRules, frozen=True, kw_only=True):
    """`sessions.AUTHENTICATE_SQL`'s row, read on every request: also the access token's
    expiry, the user's role and a custom role's permissions (its JSON column as text)."""

    access_expires_at: datetime
    role: str
    role_permissions: str | None


class SessionOwner(msgspec.Struct, frozen=True, kw_only=True):
    """A revoked session: whose it was (to close their sockets)."""

    id: uuid.UUID
    org: uuid.UUID
    user: uuid.UUID


class UserRow(msgspec.Struct, frozen=True, kw_only=True):
    """One person's app_user row (all but the password hash)."""

    id: uuid.UUID
    org: uuid.UUID
    email: str | None
    email_verified_at: datetime | None
    username: str | None
    display_name: str
    employee_id: str | None
    role: str
    status: str
    locale: str
    created_at: datetime
    updated_at: datetime
    deactivated_at: datetime | None
    last_login_at: datetime | None
    sso_break_glass: bool


class MeRow(UserRow, frozen=True, kw_only=True):
    """`users._ME`'s row: the caller, their org's name, one of their groups and whether
    they use an authenticator app."""

    org_slug: str
    org_name: str
    group_id: uuid.UUID | None
    mfa_on: bool | int  # an EXISTS: a boolean on PostgreSQL, 0 or 1 on SQLite


class OrgRow(msgspec.Struct, frozen=True, kw_only=True):
    """An org's row: its name and settings."""

    id: uuid.UUID
    slug: str
    name: str
    require_mfa: bool
    password_login: bool
    default_locale: str
    invite_ttl_days: int
    invite_daily_cap: int
    restrict_email_domains: bool
    sso_required: bool
    chat_retention_days: int | None
    post_retention_days: int | None
    audit_retention_days: int | None
    session_idle_hours: int | None
    session_absolute_hours: int | None
    created_at: datetime
