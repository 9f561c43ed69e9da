"""Creating members and reacting to their departure: the calls onboarding builds on."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.accounts.passwords import check_policy, hash_password
from staffroom.accounts.service.users import set_groups
from staffroom.accounts.tables import Group, GroupMember, User
from staffroom.core import clock
from staffroom.core.db.engine import unique_or
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
    employee_id: str | None = None,
) -> dict[str, Any]:
    """Insert a user (email already normalised by the caller); a taken login is a 409.

    Run inside the caller's transaction so a failure undoes the redemption that led here;
    hash the password before (hash_new_password), not while the transaction holds locks.
    """
    now = clock.utcnow()
    user_id = uuid.uuid4()
    hashed = password_hash
    employee_id = employee_id or None
    with unique_or(None) as clash:
        await User.insert(
            User(
                id=user_id,
                org=org_id,
                email=email,
                username=username.lower() if username else None,
                display_name=display_name,
                employee_id=employee_id,
                role=role,
                password_hash=hashed,
                created_at=now,
                updated_at=now,
                email_verified_at=now if email and email_verified else None,
            )
        )
    if clash.violation is not None:
        raise await _taken(org_id, email, username, employee_id) from clash.violation
    if group_ids:
        await set_groups(org_id, user_id, group_ids)
    row = await User.select().where(User.id == user_id).first()
    assert row is not None
    return row


async def _taken(
    org_id: uuid.UUID, email: str | None, username: str | None, employee_id: str | None
) -> Conflict:
    """Which unique login or id of the org a failed insert collided with."""
    if employee_id and await User.exists().where(
        (User.org == org_id) & (User.employee_id == employee_id)
    ):
        return Conflict("employee_id_taken", "This employee id is already in use.")
    what = "email" if email else "username"
    return Conflict(f"{what}_taken", f"This {what} is already in use.")


async def create_pending(
    org_id: uuid.UUID,
    people: list[tuple[str, str]],
    *,
    role: str,
    group_ids: list[uuid.UUID],
) -> list[uuid.UUID]:
    """Pre-provision users from (employee id, display name) pairs, in bulk.

    They stay `pending` (no login) until they redeem the access code bound to them.
    Run inside the caller's transaction; a taken employee id is a 409.
    """
    now = clock.utcnow()
    ids = [uuid.uuid4() for _ in people]
    rows = [
        User(
            id=user_id,
            org=org_id,
            employee_id=employee_id or None,
            display_name=name,
            role=role,
            status="pending",
            created_at=now,
            updated_at=now,
        )
        for user_id, (employee_id, name) in zip(ids, people, strict=True)
    ]
    with unique_or(Conflict("employee_id_taken", "An employee id is already in use.")):
        for start in range(0, len(rows), 500):
            await User.insert(*rows[start : start + 500])
    if group_ids:
        memberships = [
            GroupMember(id=uuid.uuid4(), org=org_id, group=g, user=u, created_at=now)
            for u in ids
            for g in sorted(set(group_ids))
        ]
        for start in range(0, len(memberships), 500):
            await GroupMember.insert(*memberships[start : start + 500])
    return ids


async def activate_pending(
    org_id: uuid.UUID, user_id: uuid.UUID, *, username: str, password_hash: str
) -> dict[str, Any] | None:
    """Give a pre-provisioned user a login; None if they are not pending any more.

    One conditional UPDATE, so two redemptions for one person cannot both win.
    """
    now = clock.utcnow()
    with unique_or(Conflict("username_taken", "This username is already in use.")):
        done = (
            await User.update(
                {
                    User.username: username.lower(),
                    User.password_hash: password_hash,
                    User.status: "active",
                    User.updated_at: now,
                }
            )
            .where((User.id == user_id) & (User.org == org_id) & (User.status == "pending"))
            .returning(User.id)
        )
    if not done:
        return None
    return await User.select().where(User.id == user_id).first()


async def join_existing_groups(
    org_id: uuid.UUID, user_id: uuid.UUID, group_ids: list[str] | list[uuid.UUID]
) -> None:
    """Add a new member to the groups chosen for them earlier.

    Groups deleted since (an invite sent last week) are skipped, not an error for the joiner.
    """
    if not group_ids:
        return
    existing = await Group.select(Group.id).where(
        (Group.org == org_id) & Group.id.is_in([uuid.UUID(str(g)) for g in group_ids])
    )
    if existing:
        await set_groups(org_id, user_id, [g["id"] for g in existing])


async def existing_emails(org_id: uuid.UUID, emails: list[str]) -> set[str]:
    """Which of these (normalised) addresses already belong to members of the org."""
    found: set[str] = set()
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        rows = await User.select(User.email).where((User.org == org_id) & User.email.is_in(chunk))
        found.update(r["email"] for r in rows)
    return found


async def display_names(user_ids: list[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names of people (authors, senders, members), in one query."""
    ids = list({i for i in user_ids if i})
    if not ids:
        return {}
    found = await User.select(User.id, User.display_name).where(User.id.is_in(ids))
    return {u["id"]: u["display_name"] for u in found}
