"""What other domains read about an org's people and groups, always scoped by org: feeds
and chat ask here rather than querying accounts' tables."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.accounts.service.rows import UserRow
from staffroom.accounts.tables import Group, GroupMember, Org, Role, User
from staffroom.core.db.rows import row_as


async def person(org_id: uuid.UUID, user_id: uuid.UUID) -> UserRow | None:
    """A person of this org (their row, without the password hash), or None (another
    org's too)."""
    row = await User.select().where((User.id == user_id) & (User.org == org_id)).first()
    return None if row is None else row_as(UserRow, row)


_PERSON = (User.id, User.display_name, User.email, User.username, User.employee_id, User.status)


async def by_ids(org_id: uuid.UUID, user_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """People of this org by id (`id`, `display_name`, `email`, `username`, `employee_id`,
    `status`); others' and unknown ids are absent."""
    if not user_ids:
        return []
    return await User.select(*_PERSON).where((User.org == org_id) & User.id.is_in(user_ids))


async def by_employee_ids(org_id: uuid.UUID, employee_ids: list[str]) -> list[dict[str, Any]]:
    """People of this org by employee id (the same columns as `by_ids`)."""
    if not employee_ids:
        return []
    return await User.select(*_PERSON).where(
        (User.org == org_id) & User.employee_id.is_in(employee_ids)
    )


async def first_active_owner(org_id: uuid.UUID) -> uuid.UUID | None:
    """The org's longest-standing active owner (whose powers the CLI runs with), if any."""
    row = await (
        User.select(User.id)
        .where((User.org == org_id) & (User.role == "owner") & (User.status == "active"))
        .order_by(User.created_at)
        .first()
    )
    return None if row is None else row["id"]


async def custom_role_keys(org_id: uuid.UUID) -> list[str]:
    """The keys of the org's own roles (beside the built-in ones)."""
    return [r["key"] for r in await Role.select(Role.key).where(Role.org == org_id)]


async def groups_by_name(org_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """The org's groups: lower-cased name → id."""
    rows = await Group.select(Group.id, Group.name).where(Group.org == org_id)
    return {g["name"].lower(): g["id"] for g in rows}


async def group_ids_of(org_id: uuid.UUID, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The groups a person of this org belongs to."""
    rows = await GroupMember.select(GroupMember.group).where(
        (GroupMember.user == user_id) & (GroupMember.org == org_id)
    )
    return [r["group"] for r in rows]


async def active_ids(org_id: uuid.UUID, user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the given ids that are active people of this org (others' and unknown
    ids are simply absent)."""
    if not user_ids:
        return set()
    found = await User.select(User.id).where(
        User.id.is_in(user_ids) & (User.org == org_id) & (User.status == "active")
    )
    return {r["id"] for r in found}


async def active_people(
    org_id: uuid.UUID, group_ids: list[uuid.UUID] | None = None
) -> list[dict[str, Any]]:
    """The org's active people (`id`, `display_name`, `email`, `username`) by name: all of
    them, or only the members of these groups when given."""
    where = (User.org == org_id) & (User.status == "active")
    if group_ids is not None:
        # An empty IN () is not valid SQL everywhere: a random id matches nobody instead.
        members = GroupMember.select(GroupMember.user).where(
            GroupMember.group.is_in(group_ids or [uuid.uuid4()]) & (GroupMember.org == org_id)
        )
        where = where & User.id.is_in(members)
    return (
        await User.select(User.id, User.display_name, User.email, User.username)
        .where(where)
        .order_by(User.display_name)
    )


async def chat_retention() -> list[dict[str, Any]]:
    """The orgs keeping chat messages for a limited time: `id`, `chat_retention_days`."""
    return await Org.select(Org.id, Org.chat_retention_days).where(
        Org.chat_retention_days.is_not_null()
    )
