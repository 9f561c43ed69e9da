"""Organisations: creation with an owner, and their settings."""

from __future__ import annotations

import re
import uuid
from typing import Any

from msgspec import UNSET

from staffroom.accounts.schemas import (
    OrgOut,
    OrgPatch,
    OrgRef,
    OrgSecurityOut,
    SessionLimitsOut,
)
from staffroom.accounts.service import mfa
from staffroom.accounts.service.lookups import org_of
from staffroom.accounts.service.password_reset import new_setup_link
from staffroom.accounts.service.rows import OrgRow
from staffroom.accounts.tables import Org, User
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.engine import unique_or
from staffroom.core.db.sql import transaction
from staffroom.core.emails import normalize_email
from staffroom.core.errors import Conflict, Invalid
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED = frozenset({"api", "admin", "app", "auth", "health", "schema", "sso", "static", "www"})


def org_ref(org: dict[str, Any]) -> OrgRef:
    """A short reference to an org."""
    return OrgRef(id=org["id"], slug=org["slug"], name=org["name"])


def org_out(row: OrgRow) -> OrgOut:
    """The response body of an org."""
    return OrgOut(
        id=row.id,
        slug=row.slug,
        name=row.name,
        require_mfa=row.require_mfa,
        password_login=row.password_login,
        default_locale=row.default_locale,
        invite_ttl_days=row.invite_ttl_days,
        invite_daily_cap=row.invite_daily_cap,
        restrict_email_domains=row.restrict_email_domains,
        chat_retention_days=row.chat_retention_days,
        post_retention_days=row.post_retention_days,
        audit_retention_days=row.audit_retention_days,
        session_idle_hours=row.session_idle_hours,
        session_absolute_hours=row.session_absolute_hours,
        created_at=row.created_at,
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
    with unique_or(Conflict("org_exists", "An organisation with this slug exists.")):
        async with transaction(Org):
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
    return org_out(await org_of(org_id)), user_id, link


async def get_org(principal: Principal) -> OrgOut:
    """The caller's org."""
    return org_out(await org_of(principal.org_id))


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
        # Security settings (require_mfa, session lifetimes) decide what every session may
        # do and how long it lasts: every worker forgets what it kept of the org's sessions.
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


async def security(rt: Runtime, principal: Principal) -> OrgSecurityOut:
    """What the security settings page shows beside the settings: who has no second factor
    yet, and the server's session lifetimes that the org can only shorten."""
    s = rt.settings
    return OrgSecurityOut(
        mfa=await mfa.enrolment(principal.org_id),
        server_sessions=SessionLimitsOut(
            access_minutes=s.access_token_ttl // 60,
            idle_hours=s.refresh_idle_ttl // 3600,
            absolute_hours=s.session_absolute_ttl // 3600,
        ),
    )
