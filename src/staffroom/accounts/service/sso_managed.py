"""What single sign-on manages in accounts' rows: the org's SSO requirement with its
break-glass owners, and the groups and role an IdP's rules give a person. sso decides
(its settings, its group rules); these functions only write, always scoped by org.

Each runs inside the caller's transaction when there is one (Piccolo's transactions follow
the task, and a nested one joins its parent), so sso keeps a change atomic with its own
rows."""

from __future__ import annotations

import uuid

from staffroom.accounts.tables import GroupMember, Org, User
from staffroom.core import clock
from staffroom.core.db.sql import transaction


async def break_glass_ids(org_id: uuid.UUID) -> list[uuid.UUID]:
    """The org's break-glass accounts: the owners who may still sign in with a password
    when SSO is required."""
    rows = await User.select(User.id).where(
        (User.org == org_id) & (User.sso_break_glass == True)  # noqa: E712
    )
    return [r["id"] for r in rows]


async def active_owner_ids(org_id: uuid.UUID) -> set[uuid.UUID]:
    """The org's active owners (the only people who can be break-glass accounts)."""
    rows = await User.select(User.id).where(
        (User.org == org_id) & (User.role == "owner") & (User.status == "active")
    )
    return {r["id"] for r in rows}


async def set_sso_required(org_id: uuid.UUID, required: bool, break_glass: set[uuid.UUID]) -> None:
    """Require SSO or stop requiring it, and make exactly these people the break-glass
    accounts, in one transaction (the caller checked they are active owners)."""
    async with transaction(Org):
        await Org.update({Org.sso_required: required}).where(Org.id == org_id)
        await User.update({User.sso_break_glass: False}).where(User.org == org_id)
        if break_glass:
            await User.update({User.sso_break_glass: True}).where(
                (User.org == org_id) & User.id.is_in(list(break_glass))
            )


async def sync_managed_groups(
    org_id: uuid.UUID, user_id: uuid.UUID, managed: set[uuid.UUID], wanted: set[uuid.UUID]
) -> bool:
    """Make the person's memberships among the IdP-managed groups exactly `wanted` (their
    other groups stay as they are). Whether that changed anything."""
    if not managed:
        return False
    mine = (GroupMember.user == user_id) & (GroupMember.org == org_id)
    current = {
        m["group"]
        for m in await GroupMember.select(GroupMember.group).where(
            mine & GroupMember.group.is_in(list(managed))
        )
    }
    drop, add = current - wanted, wanted - current
    if drop:
        await GroupMember.delete().where(mine & GroupMember.group.is_in(list(drop)))
    if add:
        now = clock.utcnow()
        await GroupMember.insert(
            *[
                GroupMember(id=uuid.uuid4(), org=org_id, group=g, user=user_id, created_at=now)
                for g in sorted(add)
            ]
        )
    return bool(drop or add)


async def set_role(org_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    """Give a person of the org the role an IdP maps them to (the caller checked that the
    role exists and that the person is no owner)."""
    await User.update({User.role: role, User.updated_at: clock.utcnow()}).where(
        (User.id == user_id) & (User.org == org_id)
    )
