"""Groups: departments, locations and teams, with members."""

from __future__ import annotations

import uuid
from typing import Any

from msgspec import UNSET

from staffroom.accounts.schemas import GroupIn, GroupOut, GroupPatch, UserPage
from staffroom.accounts.service.lookups import user_in_org
from staffroom.accounts.service.users import list_users
from staffroom.accounts.tables import Group, GroupMember, User
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.engine import unique_or
from staffroom.core.errors import Conflict, Invalid, NotFound
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name


async def _group(org_id: uuid.UUID, group_id: uuid.UUID) -> dict[str, Any]:
    row = await Group.select().where((Group.id == group_id) & (Group.org == org_id)).first()
    if row is None:
        raise NotFound("group_not_found", "No such group.")
    return row


async def _out(rows: list[dict[str, Any]]) -> list[GroupOut]:
    counts: dict[uuid.UUID, int] = {r["id"]: 0 for r in rows}
    if counts:
        for m in await GroupMember.select(GroupMember.group).where(
            GroupMember.group.is_in(list(counts))
        ):
            counts[m["group"]] += 1
    return [
        GroupOut(
            id=r["id"],
            name=r["name"],
            kind=r["kind"],
            description=r["description"],
            member_count=counts[r["id"]],
            created_at=r["created_at"],
        )
        for r in rows
    ]


async def list_groups(principal: Principal, kind: str | None) -> list[GroupOut]:
    """All groups of the org by name."""
    query = Group.select().where(Group.org == principal.org_id)
    if kind:
        query = query.where(Group.kind == kind)
    return await _out(await query.order_by(Group.name))


async def get_group(principal: Principal, group_id: uuid.UUID) -> GroupOut:
    """One group of the caller's org."""
    return (await _out([await _group(principal.org_id, group_id)]))[0]


async def create_group(principal: Principal, data: GroupIn, ctx: RequestContext) -> GroupOut:
    """Create a group with a name unique in the org."""
    group_id = uuid.uuid4()
    with unique_or(Conflict("group_exists", "A group with this name exists.")):
        await Group.insert(
            Group(
                id=group_id,
                org=principal.org_id,
                name=clean_name(data.name),
                kind=data.kind,
                description=data.description,
                created_at=clock.utcnow(),
            )
        )
    await audit.record(
        "group.created",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="group",
        target_id=group_id,
    )
    return await get_group(principal, group_id)


async def patch_group(
    principal: Principal, group_id: uuid.UUID, data: GroupPatch, ctx: RequestContext
) -> GroupOut:
    """Rename or re-describe a group."""
    await _group(principal.org_id, group_id)
    values: dict[Any, Any] = {}
    if data.name is not UNSET:
        values[Group.name] = clean_name(data.name)
    if data.kind is not UNSET:
        values[Group.kind] = data.kind
    if data.description is not UNSET:
        values[Group.description] = data.description
    if values:
        with unique_or(Conflict("group_exists", "A group with this name exists.")):
            await Group.update(values).where(
                (Group.id == group_id) & (Group.org == principal.org_id)
            )
        await audit.record(
            "group.updated",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="group",
            target_id=group_id,
        )
    return await get_group(principal, group_id)


async def delete_group(
    rt: Runtime, principal: Principal, group_id: uuid.UUID, ctx: RequestContext
) -> None:
    """Delete a group (its memberships go with it)."""
    await _group(principal.org_id, group_id)
    members = await GroupMember.select(GroupMember.user).where(GroupMember.group == group_id)
    await Group.delete().where((Group.id == group_id) & (Group.org == principal.org_id))
    await realtime.announce_topics_changed(rt.relay, principal.org_id, [m["user"] for m in members])
    await audit.record(
        "group.deleted",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="group",
        target_id=group_id,
    )


async def list_members(
    principal: Principal, group_id: uuid.UUID, cursor: str | None, limit: int
) -> UserPage:
    """The users in a group."""
    await _group(principal.org_id, group_id)
    return await list_users(
        principal, q=None, status=None, role=None, group_id=group_id, cursor=cursor, limit=limit
    )


async def add_members(
    rt: Runtime,
    principal: Principal,
    group_id: uuid.UUID,
    user_ids: list[uuid.UUID],
    ctx: RequestContext,
) -> GroupOut:
    """Add users of the org to a group (already-members are left as they are)."""
    await _group(principal.org_id, group_id)
    wanted = set(user_ids)
    found = {
        r["id"]
        for r in await User.select(User.id).where(
            (User.org == principal.org_id) & User.id.is_in(list(wanted))
        )
    }
    if found != wanted:
        raise Invalid("unknown_user", "One or more users do not exist.")
    present = {
        r["user"]
        for r in await GroupMember.select(GroupMember.user).where(GroupMember.group == group_id)
    }
    now = clock.utcnow()
    new = sorted(wanted - present)
    if new:
        await GroupMember.insert(
            *[
                GroupMember(
                    id=uuid.uuid4(), org=principal.org_id, group=group_id, user=u, created_at=now
                )
                for u in new
            ]
        )
        await realtime.announce_topics_changed(rt.relay, principal.org_id, new)
        await audit.record(
            "group.members_added",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="group",
            target_id=group_id,
            details={"user_ids": [str(u) for u in new]},
        )
    return await get_group(principal, group_id)


async def remove_member(
    rt: Runtime, principal: Principal, group_id: uuid.UUID, user_id: uuid.UUID, ctx: RequestContext
) -> None:
    """Take a user out of a group."""
    await _group(principal.org_id, group_id)
    await user_in_org(principal.org_id, user_id)
    removed = (
        await GroupMember.delete()
        .where(
            (GroupMember.group == group_id)
            & (GroupMember.user == user_id)
            & (GroupMember.org == principal.org_id)
        )
        .returning(GroupMember.id)
    )
    if not removed:
        raise NotFound("member_not_found", "This user is not in the group.")
    await realtime.announce_topics_changed(rt.relay, principal.org_id, [user_id])
    await audit.record(
        "group.member_removed",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="group",
        target_id=group_id,
        details={"user_id": str(user_id)},
    )
