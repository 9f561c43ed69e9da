"""Lookups every accounts service needs, always scoped by org."""

from __future__ import annotations

import json
import uuid
from typing import Any

from staffroom.accounts.permissions import BUILTIN_ROLES
from staffroom.accounts.schemas import OrgRef, UserOut
from staffroom.accounts.tables import GroupMember, Org, Role, TotpFactor, User
from staffroom.core.errors import Invalid, NotFound


def clean_name(value: str, field: str = "name") -> str:
    """A display name or group name without surrounding blanks; blank is refused."""
    cleaned = " ".join(value.split())
    if not cleaned:
        raise Invalid(f"invalid_{field}", f"The {field.replace('_', ' ')} must not be blank.")
    return cleaned


async def org_by_slug(slug: str) -> dict[str, Any] | None:
    """The org with this slug, or None."""
    return await Org.select().where(Org.slug == slug.strip().lower()).first()


async def require_org(slug: str) -> dict[str, Any]:
    """The org with this slug, or 404."""
    org = await org_by_slug(slug)
    if org is None:
        raise NotFound("org_not_found", "No organisation has this name.")
    return org


async def org_row(org_id: uuid.UUID) -> dict[str, Any]:
    """The caller's own org row."""
    org = await Org.select().where(Org.id == org_id).first()
    if org is None:
        raise NotFound("org_not_found", "No such organisation.")
    return org


async def user_in_org(org_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any]:
    """A user of the caller's org; another org's user is simply not found (404)."""
    row = await User.select().where((User.id == user_id) & (User.org == org_id)).first()
    if row is None:
        raise NotFound("user_not_found", "No such user.")
    return row


def role_permissions(role: str, custom: Any) -> frozenset[str]:
    """A built-in role's permissions, else those of the custom role's row (its JSON
    column, as read by a hand-written query; None when the org has no such role)."""
    if role in BUILTIN_ROLES:
        return BUILTIN_ROLES[role]
    if custom is None:
        return frozenset()
    return frozenset(json.loads(custom) if isinstance(custom, str | bytes) else custom)


async def permissions_for(org_id: uuid.UUID, role: str) -> frozenset[str]:
    """The permissions of a built-in or custom role of the org (none if unknown)."""
    if role in BUILTIN_ROLES:
        return BUILTIN_ROLES[role]
    row = (
        await Role.select(Role.permissions).where((Role.org == org_id) & (Role.key == role)).first()
    )
    return role_permissions(role, row["permissions"] if row else None)


async def role_exists(org_id: uuid.UUID, role: str) -> bool:
    """Whether the role key names a built-in or one of the org's custom roles."""
    if role in BUILTIN_ROLES:
        return True
    return await Role.exists().where((Role.org == org_id) & (Role.key == role))


async def users_out(rows: list[dict[str, Any]]) -> list[UserOut]:
    """Response bodies for user rows, with group ids and MFA state in two queries."""
    ids = [r["id"] for r in rows]
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
    return [user_body(r, sorted(groups[r["id"]]), r["id"] in mfa) for r in rows]


def user_body(row: dict[str, Any], group_ids: list[uuid.UUID], mfa_enabled: bool) -> UserOut:
    """The response body of one user row."""
    return UserOut(
        id=row["id"],
        email=row["email"],
        username=row["username"],
        display_name=row["display_name"],
        employee_id=row["employee_id"],
        role=row["role"],
        status=row["status"],
        locale=row["locale"],
        group_ids=group_ids,
        mfa_enabled=mfa_enabled,
        email_verified=row["email_verified_at"] is not None,
        created_at=row["created_at"],
        last_login_at=row["last_login_at"],
    )


async def user_out(row: dict[str, Any]) -> UserOut:
    """The response body of one user."""
    return (await users_out([row]))[0]


def org_ref(org: dict[str, Any]) -> OrgRef:
    """A short reference to an org."""
    return OrgRef(id=org["id"], slug=org["slug"], name=org["name"])
