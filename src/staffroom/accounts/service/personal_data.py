"""Accounts' share of a person's GDPR export and erasure (see core/personal_data.py): their
profile, groups and sessions; on erasure their second factors, one-time links, pending
address changes and group memberships go, and the account is anonymised."""

from __future__ import annotations

import uuid

from staffroom.accounts.tables import (
    AuthSession,
    EmailChange,
    GroupMember,
    OneTimeToken,
    RecoveryCode,
    TotpFactor,
    User,
)
from staffroom.core import clock
from staffroom.core.personal_data import Listing, Rows, batches
from staffroom.core.runtime import Runtime

ERASED_NAME = "Deleted user"
# Digests and tokens are never exported, even hashed.
_PRIVATE = {"password_hash", "access_hash", "secret_hash", "token", "content_digest"}
# Rows that are about the person only: deleted outright.
_PERSONAL = (TotpFactor, RecoveryCode, OneTimeToken, EmailChange, GroupMember)


async def _cleaned(rows: Rows) -> Rows:
    return [{k: v for k, v in r.items() if k not in _PRIVATE} for r in rows]


async def export_for(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> list[Listing]:
    """profile.json, groups.json and sessions.json."""
    return [
        Listing(
            "profile.json",
            "your account: name, addresses, role, status, dates",
            batches(User, (User.id == user_id) & (User.org == org_id), _cleaned),
        ),
        Listing(
            "groups.json",
            "the groups you belong to",
            batches(GroupMember, GroupMember.user == user_id),
        ),
        Listing(
            "sessions.json",
            "where and when you were signed in (no secrets)",
            batches(AuthSession, AuthSession.user == user_id, _cleaned),
        ),
    ]


async def erase(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Deletes what is about the person only and anonymises the account (marked erased:
    it never signs in or comes back)."""
    for table in _PERSONAL:
        await table.delete().where(table.user == user_id)
    now = clock.utcnow()
    await User.update(
        {
            User.status: "erased",
            User.display_name: ERASED_NAME,
            User.email: None,
            User.email_verified_at: None,
            User.username: None,
            User.employee_id: None,
            User.password_hash: None,
            User.last_login_at: None,
            User.sso_break_glass: False,
            User.deactivated_at: now,
            User.updated_at: now,
        }
    ).where((User.id == user_id) & (User.org == org_id))
