"""Changing one's own address: proven by password, applied when the new mailbox confirms.

The org's email-domain policy is checked when asked and again when confirmed (rule 9).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from staffroom.accounts.service import email_domains
from staffroom.accounts.service.lookups import org_row, user_in_org
from staffroom.accounts.service.password_change import confirm_own_password
from staffroom.accounts.tables import EmailChange, User
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.engine import unique_or
from staffroom.core.db.sql import transaction
from staffroom.core.emails import normalize_email
from staffroom.core.errors import Conflict, Invalid, Unauthorized
from staffroom.core.limits import EMAIL_CHANGE
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token

TTL = timedelta(hours=24)
# Each request mails two people: keep a hijacked session from turning it into a spam cannon.
_INVALID = Unauthorized("invalid_token", "This link is not valid or has expired.")


def _digest(rt: Runtime, token: str) -> str:
    return rt.keys.digest(token, purpose="email_change")


async def _taken(org_id: uuid.UUID, email: str, user_id: uuid.UUID) -> bool:
    return bool(
        await User.exists().where(
            (User.org == org_id) & (User.email == email) & (User.id != user_id)
        )
    )


async def request(
    rt: Runtime, principal: Principal, new_email: str, password: str, ctx: RequestContext
) -> None:
    """Mail a confirmation link to the new address and a notice to the current one."""
    await rt.limiter.hit(*EMAIL_CHANGE.at(rt.settings, principal.user_id))
    user = await confirm_own_password(rt, principal, password, ctx, "user.email_change_requested")
    address = normalize_email(new_email)
    if address == user["email"]:
        raise Invalid("same_email", "This is already your address.")
    await email_domains.check_email_allowed(principal.org_id, address)
    if await _taken(principal.org_id, address, user["id"]):
        raise Conflict("email_taken", "This address belongs to another member.")
    org = await org_row(principal.org_id)
    token, now = new_token(), clock.utcnow()
    # The newest request is the only one that counts.
    await EmailChange.delete().where(
        (EmailChange.user == user["id"]) & EmailChange.used_at.is_null()
    )
    await EmailChange.insert(
        EmailChange(
            id=uuid.uuid4(),
            org=principal.org_id,
            user=user["id"],
            new_email=address,
            token_hash=_digest(rt, token),
            expires_at=now + TTL,
            created_at=now,
        )
    )
    context: dict[str, Any] = {"org_name": org["name"], "display_name": user["display_name"]}
    link = f"{rt.settings.effective_app_url}/confirm-email#token={token}"
    await rt.mail.enqueue(
        address,
        "email_change",
        user["locale"],
        context | {"link": link, "ttl_hours": int(TTL.total_seconds() // 3600)},
        principal.org_id,
    )
    if user["email"]:
        await rt.mail.enqueue(
            user["email"],
            "email_change_notice",
            user["locale"],
            context | {"new_email": address},
            principal.org_id,
        )
    await audit.record(
        "user.email_change_requested",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="user",
        target_id=principal.user_id,
    )


async def confirm(rt: Runtime, token: str, ctx: RequestContext) -> None:
    """Apply the change the link was sent for; single use, 24 hours."""
    now = clock.utcnow()
    row = await EmailChange.select().where(EmailChange.token_hash == _digest(rt, token)).first()
    if row is None or row["used_at"] is not None or row["expires_at"] <= now:
        raise _INVALID
    user = await user_in_org(row["org"], row["user"])
    if user["status"] != "active":
        raise _INVALID
    # The org may have restricted its domains since the link was sent.
    await email_domains.check_email_allowed(row["org"], row["new_email"])
    async with transaction(EmailChange):
        used = (
            await EmailChange.update({EmailChange.used_at: now})
            .where((EmailChange.id == row["id"]) & EmailChange.used_at.is_null())
            .returning(EmailChange.id)
        )
        if not used:
            raise _INVALID
        with unique_or(Conflict("email_taken", "This address belongs to another member.")):
            await User.update(
                {User.email: row["new_email"], User.email_verified_at: now, User.updated_at: now}
            ).where((User.id == user["id"]) & (User.org == row["org"]))
    await audit.record(
        "user.email_changed",
        ctx=ctx,
        org_id=row["org"],
        actor_id=user["id"],
        target_type="user",
        target_id=user["id"],
    )
