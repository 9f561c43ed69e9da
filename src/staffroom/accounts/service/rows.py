"""Accounts' rows on the hot paths, typed (`core/db/rows.py`): a session as every request
reads it."""

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
