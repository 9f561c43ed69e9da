"""Organisations: creation with an owner, and their settings."""

from __future__ import annotations

import re
import uuid
from typing import Any

from msgspec import UNSET

from staffroom.accounts.schemas import OrgOut, OrgPatch
from staffroom.accounts.service.auth import new_setup_link
from staffroom.accounts.service.common import clean_name, org_row
from staffroom.accounts.tables import Org, User
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db import is_unique_violation
from staffroom.core.emails import normalize_email
from staffroom.core.errors import Conflict, Invalid
from staffroom.core.runtime import Runtime

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED = frozenset({"api", "admin", "app", "auth", "health", "schema", "sso", "static", "www"})


def org_out(row: dict[str, Any]) -> OrgOut:
    """The response body of an org."""
    return OrgOut(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        require_mfa=row["require_mfa"],
        password_login=row["password_login"],
        default_locale=row["default_locale"],
        invite_ttl_days=row["invite_ttl_days"],
        invite_daily_cap=row["invite_daily_cap"],
        restrict_email_domains=row["restrict_email_domains"],
        chat_retention_days=row["chat_retention_days"],
        post_retention_days=row["post_retention_days"],
        audit_retention_days=row["audit_retention_days"],
        created_at=row["created_at"],
    )


async def create_org(
    rt: Runtime, slug: str, name: str, owner_email: str, owner_name: str | None = None
) -> tuple[OrgOut, uuid.UUID, str]:
    """Create an org and its owner; returns the org, owner id and a one-time setup link."""
    slug = slug.strip().lower()
    if not _SLUG.match(slug) or slug in _RESERVED:
        raise Invalid("invalid_slug", "Use 1-63 lower-case letters, digits and dashes.")
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("invalid_name", "The name must be 1-200 characters.")
    email = normalize_email(owner_email)
    now = clock.utcnow()
    org_id, user_id = uuid.uuid4(), uuid.uuid4()
    try:
        async with Org._meta.db.transaction():
            await Org.insert(Org(id=org_id, slug=slug, name=name, created_at=now))
            await User.insert(
                User(
                    id=user_id,
                    org=org_id,
                    email=email,
                    display_name=(owner_name or email.split("@")[0]).strip()[:200],
                    role="owner",
                    created_at=now,
                    updated_at=now,
                )
            )
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict("org_exists", "An organisation with this slug exists.") from exc
        raise
    owner = await User.select().where(User.id == user_id).first()
    assert owner is not None
    link = await new_setup_link(rt, owner)
    await audit.record(
        "org.created",
        actor_type="system",
        org_id=org_id,
        target_type="org",
        target_id=org_id,
        details={"slug": slug},
    )
    return org_out(await org_row(org_id)), user_id, link


async def get_org(principal: Principal) -> OrgOut:
    """The caller's org."""
    return org_out(await org_row(principal.org_id))


async def patch_org(
    rt: Runtime, principal: Principal, data: OrgPatch, ctx: RequestContext
) -> OrgOut:
    """Change org settings (name, MFA policy, password login, default language)."""
    values: dict[Any, Any] = {}
    changed: dict[str, Any] = {}
    for field in OrgPatch.__struct_fields__:
        value = getattr(data, field)
        if value is not UNSET:
            values[getattr(Org, field)] = clean_name(value) if field == "name" else value
            changed[field] = value
    if values:
        await Org.update(values).where(Org.id == principal.org_id)
        # Security settings (require_mfa) decide what every session may do: every worker
        # forgets what it kept of the org's sessions.
        await realtime.announce_principals_changed(rt.relay, principal.org_id)
        await audit.record(
            "org.settings_changed",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="org",
            target_id=principal.org_id,
            details=changed,
        )
    return await get_org(principal)
