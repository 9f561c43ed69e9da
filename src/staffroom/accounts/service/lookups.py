"""Look-ups every accounts service needs (orgs, users, roles), always scoped by org."""

from __future__ import annotations

import json
import uuid
from typing import Any

from staffroom.accounts.permissions import BUILTIN_ROLES
from staffroom.accounts.service.rows import OrgRow, UserRow
from staffroom.accounts.tables import Org, Role, User
from staffroom.core.db.rows import row_as
from staffroom.core.errors import NotFound


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


async def org_of(org_id: uuid.UUID) -> OrgRow:
    """`org_row` as a typed row."""
    return row_as(OrgRow, await org_row(org_id))


async def retention_settings() -> list[dict[str, Any]]:
    """The orgs keeping posts or audit events for a limited time: `id`,
    `post_retention_days` and `audit_retention_days` (compliance's retention run)."""
    return await Org.select(Org.id, Org.post_retention_days, Org.audit_retention_days).where(
        Org.post_retention_days.is_not_null() | Org.audit_retention_days.is_not_null()
    )


async def user_in_org(org_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any]:
    """A user of the caller's org; another org's user is simply not found (404)."""
    row = await User.select().where((User.id == user_id) & (User.org == org_id)).first()
    if row is None:
        raise NotFound("user_not_found", "No such user.")
    return row


async def user_of(org_id: uuid.UUID, user_id: uuid.UUID) -> UserRow:
    """`user_in_org` as a typed row (without the password hash)."""
    return row_as(UserRow, await user_in_org(org_id, user_id))


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
