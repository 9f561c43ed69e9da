"""Built-in and custom roles."""

from __future__ import annotations

import uuid
from typing import Any

from msgspec import UNSET

from staffroom.accounts.permissions import BUILTIN_NAMES, BUILTIN_ROLES, PERMISSIONS
from staffroom.accounts.schemas import RoleIn, RoleOut, RolePatch
from staffroom.accounts.tables import Role, User
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.engine import unique_or
from staffroom.core.errors import Conflict, Forbidden, Invalid, NotFound
from staffroom.core.runtime import Runtime


def _check_permissions(principal: Principal, permissions: list[str]) -> list[str]:
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown:
        raise Invalid("unknown_permission", f"Unknown permissions: {', '.join(unknown)}.")
    if not set(permissions) <= principal.permissions:
        raise Forbidden("role_exceeds_own", "You cannot grant permissions you do not hold.")
    return sorted(set(permissions))


async def _custom(org_id: uuid.UUID, key: str) -> dict[str, Any]:
    row = (
        await Role.select()
        .where((Role.org == org_id) & (Role.key == key))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("role_not_found", "No such custom role.")
    return row


def _out(row: dict[str, Any]) -> RoleOut:
    return RoleOut(key=row["key"], name=row["name"], builtin=False, permissions=row["permissions"])


async def list_roles(principal: Principal) -> list[RoleOut]:
    """The built-in roles, then the org's custom roles."""
    builtin = [
        RoleOut(key=k, name=BUILTIN_NAMES[k], builtin=True, permissions=sorted(v))
        for k, v in BUILTIN_ROLES.items()
    ]
    custom = (
        await Role.select()
        .where(Role.org == principal.org_id)
        .order_by(Role.key)
        .output(load_json=True)
    )
    return builtin + [_out(r) for r in custom]


async def create_role(
    rt: Runtime, principal: Principal, data: RoleIn, ctx: RequestContext
) -> RoleOut:
    """A custom role: a named subset of the permissions the creator holds."""
    if data.key in BUILTIN_ROLES:
        raise Conflict("role_exists", "A built-in role has this key.")
    perms = _check_permissions(principal, data.permissions)
    with unique_or(Conflict("role_exists", "A role with this key exists.")):
        await Role.insert(
            Role(
                id=uuid.uuid4(),
                org=principal.org_id,
                key=data.key,
                name=data.name.strip(),
                permissions=perms,
                created_at=clock.utcnow(),
            )
        )
    # Nobody may hold it yet, but a key once held (deleted, then created anew) would be.
    await realtime.announce_principals_changed(rt.relay, principal.org_id)
    await audit.record(
        "role.created",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="role",
        target_id=data.key,
        details={"permissions": perms},
    )
    return _out(await _custom(principal.org_id, data.key))


async def patch_role(
    rt: Runtime, principal: Principal, key: str, data: RolePatch, ctx: RequestContext
) -> RoleOut:
    """Rename a custom role or change its permissions."""
    await _custom(principal.org_id, key)
    values: dict[Any, Any] = {}
    if data.name is not UNSET:
        values[Role.name] = data.name.strip()
    if data.permissions is not UNSET:
        values[Role.permissions] = _check_permissions(principal, data.permissions)
    if values:
        await Role.update(values).where((Role.org == principal.org_id) & (Role.key == key))
        # Its holders' permissions changed: every worker forgets who they were.
        await realtime.announce_principals_changed(rt.relay, principal.org_id)
        await audit.record(
            "role.updated",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="role",
            target_id=key,
        )
    return _out(await _custom(principal.org_id, key))


async def delete_role(rt: Runtime, principal: Principal, key: str, ctx: RequestContext) -> None:
    """Delete a custom role that nobody holds."""
    await _custom(principal.org_id, key)
    if await User.exists().where((User.org == principal.org_id) & (User.role == key)):
        raise Conflict("role_in_use", "Users still hold this role.")
    await Role.delete().where((Role.org == principal.org_id) & (Role.key == key))
    await realtime.announce_principals_changed(rt.relay, principal.org_id)
    await audit.record(
        "role.deleted",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="role",
        target_id=key,
    )
