"""The staff directory and user administration (role, groups, deactivation)."""

from __future__ import annotations

import uuid
from typing import Any

from msgspec import UNSET

from staffroom.accounts.schemas import MeOut, MePatch, OrgRef, UserOut, UserPage, UserPatch
from staffroom.accounts.service import hooks, sessions
from staffroom.accounts.service import mfa as mfa_service
from staffroom.accounts.service.lookups import permissions_for, role_exists, user_in_org, user_of
from staffroom.accounts.service.rows import MeRow, UserRow
from staffroom.accounts.tables import Group, GroupMember, TotpFactor, User
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.pages import page_filter, page_of
from staffroom.core.db.rows import row_as
from staffroom.core.db.sql import fetch, icontains
from staffroom.core.errors import Conflict, Forbidden, Invalid, NotFound
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name

# Every app start and refresh asks for /me: one hand-written statement (the user with org,
# MFA state and, one row each, their groups) instead of four built by Piccolo.
_ME = (
    'SELECT u.*, o.slug AS org_slug, o.name AS org_name, g."group" AS group_id,'
    " EXISTS (SELECT 1 FROM totp_factor f"
    ' WHERE f."user" = u.id AND f.confirmed_at IS NOT NULL) AS mfa_on'
    " FROM app_user u JOIN org o ON o.id = u.org"
    ' LEFT JOIN group_member g ON g."user" = u.id AND g.org = u.org'
    " WHERE u.id = {} AND u.org = {}"
)


async def users_out(rows: list[UserRow]) -> list[UserOut]:
    """Response bodies for user rows, with group ids and MFA state in two queries."""
    ids = [r.id for r in rows]
    groups: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    mfa: set[uuid.UUID] = set()
    if ids:
        for m in await GroupMember.select(GroupMember.user, GroupMember.group).where(
            GroupMember.user.is_in(ids)
        ):
            groups[m["user"]].append(m["group"])
        for f in await TotpFactor.select(TotpFactor.user).where(
            TotpFactor.user.is_in(ids) & TotpFactor.confirmed_at.is_not_null()
        ):
            mfa.add(f["user"])
    return [user_body(r, sorted(groups[r.id]), r.id in mfa) for r in rows]


def user_body(row: UserRow, group_ids: list[uuid.UUID], mfa_enabled: bool) -> UserOut:
    """The response body of one user row."""
    return UserOut(
        id=row.id,
        email=row.email,
        username=row.username,
        display_name=row.display_name,
        employee_id=row.employee_id,
        role=row.role,
        status=row.status,
        locale=row.locale,
        group_ids=group_ids,
        mfa_enabled=mfa_enabled,
        email_verified=row.email_verified_at is not None,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


async def user_out(row: UserRow) -> UserOut:
    """The response body of one user."""
    return (await users_out([row]))[0]


async def me(principal: Principal) -> MeOut:
    """The caller's own profile with org and permissions."""
    rows = [row_as(MeRow, r) for r in await fetch(User, _ME, principal.user_id, principal.org_id)]
    if not rows:
        raise NotFound("user_not_found", "No such user.")
    row = rows[0]
    groups = sorted(r.group_id for r in rows if r.group_id is not None)
    base = user_body(row, groups, bool(row.mfa_on))
    return MeOut(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        org=OrgRef(id=principal.org_id, slug=row.org_slug, name=row.org_name),
        permissions=sorted(principal.permissions),
        session_scope=principal.scope,
    )


async def patch_me(principal: Principal, data: MePatch, ctx: RequestContext) -> MeOut:
    """Change one's own display name or language (not role, org or address)."""
    values: dict[Any, Any] = {}
    if data.display_name is not UNSET:
        values[User.display_name] = clean_name(data.display_name, "display_name")
    if data.locale is not UNSET:
        values[User.locale] = data.locale
    if values:
        values[User.updated_at] = clock.utcnow()
        await User.update(values).where(
            (User.id == principal.user_id) & (User.org == principal.org_id)
        )
    return await me(principal)


async def list_users(
    principal: Principal,
    *,
    q: str | None,
    status: str | None,
    role: str | None,
    group_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
    mfa: bool | None = None,
) -> UserPage:
    """Search the org's users, newest first, a page at a time."""
    query = User.select().where(User.org == principal.org_id)
    if q:
        text = q.strip()
        query = query.where(
            icontains(User.display_name, text)
            | icontains(User.email, text)
            | icontains(User.username, text)
            | icontains(User.employee_id, text)
        )
    if status:
        query = query.where(User.status == status)
    if role:
        query = query.where(User.role == role)
    if group_id:
        members = GroupMember.select(GroupMember.user).where(
            (GroupMember.group == group_id) & (GroupMember.org == principal.org_id)
        )
        query = query.where(User.id.is_in(members))
    if mfa is not None:  # with or without a confirmed authenticator app
        enrolled = mfa_service.enrolled_users(principal.org_id)
        query = query.where(User.id.is_in(enrolled) if mfa else User.id.not_in(enrolled))
    if (after := page_filter(User, cursor)) is not None:
        query = query.where(after)
    rows = await query.order_by(User.created_at, User.id, ascending=False).limit(limit + 1)
    rows, next_cursor = page_of(rows, limit)
    return UserPage(
        items=await users_out([row_as(UserRow, r) for r in rows]),
        next_cursor=next_cursor,
    )


async def get_user(principal: Principal, user_id: uuid.UUID) -> UserOut:
    """One user of the caller's org."""
    return await user_out(await user_of(principal.org_id, user_id))


async def assert_can_grant(principal: Principal, role: str) -> None:
    """The role exists and gives nothing the actor lacks; only owners make owners."""
    if not await role_exists(principal.org_id, role):
        raise Invalid("unknown_role", "No such role.")
    if role == "owner" and principal.role != "owner":
        raise Forbidden("owner_only", "Only an owner can make someone an owner.")
    if not await permissions_for(principal.org_id, role) <= principal.permissions:
        raise Forbidden("role_exceeds_own", "You cannot grant permissions you do not hold.")


async def _active_owner_count(org_id: uuid.UUID) -> int:
    count = await User.count().where(
        (User.org == org_id) & (User.role == "owner") & (User.status == "active")
    )
    return int(count)


async def _guard_owner_change(principal: Principal, target: UserRow) -> None:
    """Only owners touch owners, and the last active owner stays."""
    if target.role == "owner":
        if principal.role != "owner":
            raise Forbidden("owner_only", "Only an owner can change another owner.")
        if target.status == "active" and await _active_owner_count(principal.org_id) <= 1:
            raise Conflict("last_owner", "The organisation needs at least one active owner.")


async def check_groups(org_id: uuid.UUID, group_ids: list[uuid.UUID]) -> None:
    """Every group must be the org's own (another org's group is simply unknown)."""
    wanted = set(group_ids)
    if wanted:
        found = await Group.count().where((Group.org == org_id) & Group.id.is_in(list(wanted)))
        if found != len(wanted):
            raise Invalid("unknown_group", "One or more groups do not exist.")


async def set_groups(org_id: uuid.UUID, user_id: uuid.UUID, group_ids: list[uuid.UUID]) -> None:
    """Replace a user's group memberships; every group must be the org's own."""
    wanted = set(group_ids)
    await check_groups(org_id, group_ids)
    await GroupMember.delete().where((GroupMember.user == user_id) & (GroupMember.org == org_id))
    now = clock.utcnow()
    if wanted:
        await GroupMember.insert(
            *[
                GroupMember(id=uuid.uuid4(), org=org_id, group=g, user=user_id, created_at=now)
                for g in sorted(wanted)
            ]
        )


async def patch_user(
    rt: Runtime, principal: Principal, user_id: uuid.UUID, data: UserPatch, ctx: RequestContext
) -> UserOut:
    """Change a user's name, role or groups, within the actor's own powers."""
    target = await user_of(principal.org_id, user_id)
    values: dict[Any, Any] = {}
    if data.display_name is not UNSET:
        values[User.display_name] = clean_name(data.display_name, "display_name")
    if data.role is not UNSET and data.role != target.role:
        if target.id == principal.user_id:
            raise Forbidden("own_role", "You cannot change your own role.")
        await assert_can_grant(principal, data.role)
        await _guard_owner_change(principal, target)
        values[User.role] = data.role
    if values:
        values[User.updated_at] = clock.utcnow()
        await User.update(values).where((User.id == user_id) & (User.org == principal.org_id))
    if data.group_ids is not UNSET:
        await set_groups(principal.org_id, user_id, data.group_ids)
    if data.group_ids is not UNSET or User.role in values:  # what they may read changed
        await realtime.announce_topics_changed(rt.relay, principal.org_id, [user_id])
    if User.role in values:
        await audit.record(
            "user.role_changed",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="user",
            target_id=user_id,
            details={"from": target.role, "to": values[User.role]},
        )
    if data.group_ids is not UNSET:
        await audit.record(
            "user.groups_changed",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="user",
            target_id=user_id,
            details={"group_ids": sorted(str(g) for g in data.group_ids)},
        )
    return await get_user(principal, user_id)


async def deactivate(
    rt: Runtime, principal: Principal, user_id: uuid.UUID, ctx: RequestContext
) -> UserOut:
    """Block a user and end every session at once."""
    target = await user_of(principal.org_id, user_id)
    if target.id == principal.user_id:
        raise Forbidden("deactivate_self", "You cannot deactivate yourself.")
    await _guard_owner_change(principal, target)
    now = clock.utcnow()
    await User.update(
        {User.status: "deactivated", User.deactivated_at: now, User.updated_at: now}
    ).where((User.id == user_id) & (User.org == principal.org_id))
    revoked = await sessions.revoke_user(rt, user_id, "deactivated")
    await hooks.deactivated(rt, principal.org_id, user_id)
    await audit.record(
        "user.deactivated",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="user",
        target_id=user_id,
        details={"sessions_revoked": revoked},
    )
    return await get_user(principal, user_id)


async def reactivate(principal: Principal, user_id: uuid.UUID, ctx: RequestContext) -> UserOut:
    """Let a deactivated user sign in again (login only: revoked invites and codes stay so)."""
    target = await user_in_org(principal.org_id, user_id)
    if target["role"] == "owner" and principal.role != "owner":
        raise Forbidden("owner_only", "Only an owner can change another owner.")
    if target["status"] == "erased":
        raise Conflict("user_erased", "An erased person cannot come back; invite them anew.")
    # Someone pre-provisioned for an access code never had a login to restore.
    never_set_up = not (target["password_hash"] or target["username"] or target["email"])
    await User.update(
        {
            User.status: "pending" if never_set_up else "active",
            User.deactivated_at: None,
            User.updated_at: clock.utcnow(),
        }
    ).where((User.id == user_id) & (User.org == principal.org_id))
    await audit.record(
        "user.reactivated",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="user",
        target_id=user_id,
    )
    return await get_user(principal, user_id)
