"""Creating members and reacting to their departure: the calls onboarding builds on."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.accounts.passwords import check_policy, hash_password
from staffroom.accounts.service.users import set_groups
from staffroom.accounts.tables import User
from staffroom.core import clock
from staffroom.core.db import is_unique_violation
from staffroom.core.errors import Conflict
from staffroom.core.runtime import Runtime


async def check_new_password(password: str, *identity: str | None) -> None:
    """The password policy, with the new account's own name and address as context."""
    check_policy(password, tuple(w for w in identity if w))


async def hash_new_password(rt: Runtime, password: str) -> str:
    """bcrypt a new member's password (in a thread)."""
    return await hash_password(rt.keys.pepper, password, rt.settings.bcrypt_rounds)


async def create_member(
    org_id: uuid.UUID,
    *,
    display_name: str,
    password_hash: str | None,
    role: str,
    group_ids: list[uuid.UUID],
    email: str | None = None,
    username: str | None = None,
    email_verified: bool = False,
) -> dict[str, Any]:
    """Insert a user (email already normalised by the caller); a taken login is a 409.

    Run inside the caller's transaction so a failure undoes the redemption that led here;
    hash the password before (hash_new_password), not while the transaction holds locks.
    """
    now = clock.utcnow()
    user_id = uuid.uuid4()
    hashed = password_hash
    try:
        await User.insert(
            User(
                id=user_id,
                org=org_id,
                email=email,
                username=username.lower() if username else None,
                display_name=display_name,
                role=role,
                password_hash=hashed,
                created_at=now,
                updated_at=now,
                email_verified_at=now if email and email_verified else None,
            )
        )
    except Exception as exc:
        if is_unique_violation(exc):
            what = "email" if email else "username"
            raise Conflict(f"{what}_taken", f"This {what} is already in use.") from exc
        raise
    if group_ids:
        await set_groups(org_id, user_id, group_ids)
    row = await User.select().where(User.id == user_id).first()
    assert row is not None
    return row


async def existing_emails(org_id: uuid.UUID, emails: list[str]) -> set[str]:
    """Which of these (normalised) addresses already belong to members of the org."""
    found: set[str] = set()
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        rows = await User.select(User.email).where((User.org == org_id) & User.email.is_in(chunk))
        found.update(r["email"] for r in rows)
    return found
