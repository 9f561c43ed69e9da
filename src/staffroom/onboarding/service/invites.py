"""Email invites: create, list, resend, revoke, view and accept (rules 1, 7, 9; T7)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from staffroom.accounts.service import email_domains, members, people
from staffroom.accounts.service.lookups import org_row, user_in_org
from staffroom.accounts.service.orgs import org_ref
from staffroom.accounts.service.users import assert_can_grant, check_groups
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.pages import page_filter, page_of
from staffroom.core.db.sql import transaction
from staffroom.core.emails import normalize_email
from staffroom.core.errors import Conflict, Gone, NotFound, RateLimited
from staffroom.core.limits import INVITE_ACCEPT_IP
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name
from staffroom.core.tokens import new_token
from staffroom.onboarding.schemas import (
    AcceptedOut,
    InviteIn,
    InviteOut,
    InvitePage,
    InvitePublic,
)
from staffroom.onboarding.service.outcomes import refused, sign_in_new_member
from staffroom.onboarding.tables import Invite

_DAY = timedelta(days=1)


def _digest(rt: Runtime, token: str) -> str:
    return rt.keys.digest(token, purpose="invite")


def status_of(row: dict[str, Any], now: datetime) -> str:
    """pending, accepted, revoked, or expired (pending past its expiry)."""
    if row["status"] == "pending" and row["expires_at"] <= now:
        return "expired"
    return str(row["status"])


def invite_out(row: dict[str, Any], now: datetime) -> InviteOut:
    """The admin's view of an invite."""
    return InviteOut(
        id=row["id"],
        email=row["email"],
        role=row["role"],
        group_ids=[uuid.UUID(str(g)) for g in row["group_ids"]],
        display_name=row["display_name"],
        employee_id=row["employee_id"],
        status=status_of(row, now),  # type: ignore[arg-type]
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        last_sent_at=row["last_sent_at"],
        sent_count=row["sent_count"],
        accepted_user_id=row["accepted_user"],
    )


def link_for(rt: Runtime, token: str) -> str:
    """The invite link; the token sits in the fragment, which never reaches a server log."""
    return f"{rt.settings.effective_app_url}/invite#token={token}"


async def pending_emails(org_id: uuid.UUID, emails: list[str]) -> set[str]:
    """Addresses that already hold a pending, unexpired invite."""
    now = clock.utcnow()
    found: set[str] = set()
    for start in range(0, len(emails), 500):
        rows = await Invite.select(Invite.email).where(
            (Invite.org == org_id)
            & Invite.email.is_in(emails[start : start + 500])
            & (Invite.status == "pending")
            & (Invite.expires_at > now)
        )
        found.update(r["email"] for r in rows)
    return found


async def check_daily_cap(org: dict[str, Any], adding: int) -> None:
    """A per-org cap on invites sent in 24 hours stops a hijacked admin from spamming."""
    since = clock.utcnow() - _DAY
    sent = await Invite.count().where((Invite.org == org["id"]) & (Invite.last_sent_at > since))
    if sent + adding > org["invite_daily_cap"]:
        raise RateLimited(3600, "The daily invitation limit of this organisation is reached.")


def new_row(
    rt: Runtime,
    org: dict[str, Any],
    principal: Principal,
    email: str,
    role: str,
    group_ids: list[uuid.UUID],
    display_name: str = "",
    employee_id: str = "",
) -> tuple[Invite, str]:
    """An Invite row and its link token (not yet stored)."""
    token = new_token()
    now = clock.utcnow()
    return (
        Invite(
            id=uuid.uuid4(),
            org=org["id"],
            email=email,
            role=role,
            group_ids=[str(g) for g in group_ids],
            display_name=display_name,
            employee_id=employee_id,
            token_hash=_digest(rt, token),
            status="pending",
            expires_at=now + timedelta(days=org["invite_ttl_days"]),
            invited_by=principal.user_id,
            created_at=now,
            last_sent_at=now,
        ),
        token,
    )


async def mail_context(
    rt: Runtime, org: dict[str, Any], principal: Principal, token: str, display_name: str
) -> dict[str, Any]:
    """The template variables of an invite email."""
    inviter = await user_in_org(principal.org_id, principal.user_id)
    return {
        "org_name": org["name"],
        "inviter": inviter["display_name"],
        "display_name": display_name,
        "link": link_for(rt, token),
        "ttl_days": org["invite_ttl_days"],
    }


async def _send(
    rt: Runtime, org: dict[str, Any], principal: Principal, email: str, token: str, name: str
) -> None:
    context = await mail_context(rt, org, principal, token, name)
    await rt.mail.enqueue(email, "invite", org["default_locale"], context, org_id=org["id"])


async def create(
    rt: Runtime, principal: Principal, data: InviteIn, ctx: RequestContext
) -> InviteOut:
    """Invite one address with a role and groups; the email carries the only copy of the link."""
    email = normalize_email(data.email)
    await email_domains.check_email_allowed(principal.org_id, email)
    await assert_can_grant(principal, data.role)
    await check_groups(principal.org_id, data.group_ids)
    if await members.existing_emails(principal.org_id, [email]):
        raise Conflict("already_member", "This address already belongs to a member.")
    if await pending_emails(principal.org_id, [email]):
        raise Conflict("already_invited", "This address already has a pending invitation.")
    org = await org_row(principal.org_id)
    await check_daily_cap(org, 1)
    name = " ".join(data.display_name.split())
    row, token = new_row(rt, org, principal, email, data.role, data.group_ids, name)
    await Invite.insert(row)
    await _send(rt, org, principal, email, token, name)
    await audit.record(
        "invite.created",
        ctx=ctx,
        org_id=org["id"],
        actor_id=principal.user_id,
        target_type="invite",
        target_id=row.id,
        details={"role": data.role},
    )
    return await get(principal, row.id)


async def _own(principal: Principal, invite_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await Invite.select()
        .where((Invite.id == invite_id) & (Invite.org == principal.org_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("invite_not_found", "No such invitation.")
    return row


async def get(principal: Principal, invite_id: uuid.UUID) -> InviteOut:
    """One invite of the caller's org."""
    return invite_out(await _own(principal, invite_id), clock.utcnow())


async def list_invites(
    principal: Principal, status: str | None, q: str | None, cursor: str | None, limit: int
) -> InvitePage:
    """The org's invites, newest first, filterable by status."""
    now = clock.utcnow()
    query = Invite.select().where(Invite.org == principal.org_id)
    if status == "expired":
        query = query.where((Invite.status == "pending") & (Invite.expires_at <= now))
    elif status == "pending":
        query = query.where((Invite.status == "pending") & (Invite.expires_at > now))
    elif status:
        query = query.where(Invite.status == status)
    if q:
        query = query.where(Invite.email.like(f"%{q.strip().lower().replace('%', '')}%"))
    if (after := page_filter(Invite, cursor)) is not None:
        query = query.where(after)
    rows = await (
        query.order_by(Invite.created_at, Invite.id, ascending=False)
        .limit(limit + 1)
        .output(load_json=True)
    )
    rows, next_cursor = page_of(rows, limit)
    return InvitePage(
        items=[invite_out(r, now) for r in rows],
        next_cursor=next_cursor,
    )


async def resend(
    rt: Runtime, principal: Principal, invite_id: uuid.UUID, ctx: RequestContext
) -> InviteOut:
    """Send a fresh link (the old one dies) and restart the validity period."""
    row = await _own(principal, invite_id)
    if row["status"] != "pending":
        raise Conflict("invite_not_pending", f"This invitation is {row['status']}.")
    org = await org_row(principal.org_id)
    await check_daily_cap(org, 1)
    token = new_token()
    now = clock.utcnow()
    updated = (
        await Invite.update(
            {
                Invite.token_hash: _digest(rt, token),
                Invite.expires_at: now + timedelta(days=org["invite_ttl_days"]),
                Invite.last_sent_at: now,
                Invite.sent_count: Invite.sent_count + 1,
            }
        )
        .where((Invite.id == invite_id) & (Invite.status == "pending"))
        .returning(Invite.id)
    )
    if not updated:
        raise Conflict("invite_not_pending", "This invitation is no longer pending.")
    await _send(rt, org, principal, row["email"], token, row["display_name"])
    await audit.record(
        "invite.resent",
        ctx=ctx,
        org_id=org["id"],
        actor_id=principal.user_id,
        target_type="invite",
        target_id=invite_id,
    )
    return await get(principal, invite_id)


async def revoke(principal: Principal, invite_id: uuid.UUID, ctx: RequestContext) -> None:
    """Withdraw a pending invite; its link stops working."""
    row = await _own(principal, invite_id)
    updated = (
        await Invite.update({Invite.status: "revoked", Invite.revoked_at: clock.utcnow()})
        .where((Invite.id == invite_id) & (Invite.status == "pending"))
        .returning(Invite.id)
    )
    if not updated:
        raise Conflict("invite_not_pending", f"This invitation is {row['status']}.")
    await audit.record(
        "invite.revoked",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="invite",
        target_id=invite_id,
    )


async def _by_token(rt: Runtime, token: str) -> dict[str, Any]:
    row = (
        await Invite.select()
        .where(Invite.token_hash == _digest(rt, token))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("invite_not_found", "This invitation link is not valid.")
    status = status_of(row, clock.utcnow())
    if status != "pending":
        raise Gone(f"invite_{status}", f"This invitation is {status}.")
    return row


async def view(rt: Runtime, token: str) -> InvitePublic:
    """What the invitee sees: the org and the address the account will have."""
    row = await _by_token(rt, token)
    org = await org_row(row["org"])
    inviter = None
    if row["invited_by"] is not None:
        with contextlib.suppress(NotFound):
            inviter = (await user_in_org(row["org"], row["invited_by"]))["display_name"]
    return InvitePublic(
        org=org_ref(org),
        email=row["email"],
        display_name=row["display_name"],
        expires_at=row["expires_at"],
        invited_by=inviter,
    )


async def accept(
    rt: Runtime, token: str, display_name: str, password: str, ctx: RequestContext
) -> AcceptedOut:
    """Create the account for the invited address and sign in; the link works once."""
    # Only bad links count: a whole office accepting from one NAT address must get through.
    limit = INVITE_ACCEPT_IP.at(rt.settings, ctx.ip)
    await rt.limiter.check(*limit)
    try:
        row = await _by_token(rt, token)
    except (NotFound, Gone) as exc:
        raise await refused(rt, ctx, "invite.accepted", exc, [limit]) from None
    name = clean_name(display_name, "display_name")
    # The org may have restricted its domains since the invite went out.
    await email_domains.check_email_allowed(row["org"], row["email"])
    # Policy first: a rejected password must not burn the link.
    await members.check_new_password(password, row["email"], name)
    hashed = await members.hash_new_password(rt, password)
    now = clock.utcnow()
    async with transaction(Invite):
        # Atomic redemption: of concurrent accepts exactly one passes this UPDATE.
        won = (
            await Invite.update({Invite.status: "accepted", Invite.accepted_at: now})
            .where(
                (Invite.id == row["id"]) & (Invite.status == "pending") & (Invite.expires_at > now)
            )
            .returning(Invite.id)
        )
        if not won:
            raise Gone("invite_accepted", "This invitation has already been used.")
        # The account gets the invited address, never one the client sends.
        user = await members.create_member(
            row["org"],
            email=row["email"],
            display_name=name,
            password_hash=hashed,
            role=row["role"],
            group_ids=[],
            email_verified=True,
            employee_id=row["employee_id"],
        )
        await Invite.update({Invite.accepted_user: user["id"]}).where(Invite.id == row["id"])
    await members.join_existing_groups(row["org"], user["id"], row["group_ids"])
    signed_in = await sign_in_new_member(rt, user, ctx)
    await audit.record(
        "invite.accepted",
        ctx=ctx,
        org_id=row["org"],
        actor_id=user["id"],
        target_type="invite",
        target_id=row["id"],
    )
    return signed_in


async def revoke_for_user(org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Offboarding: a deactivated user's pending invites to others are withdrawn."""
    user = await people.person(org_id, user_id)
    now = clock.utcnow()
    await Invite.update({Invite.status: "revoked", Invite.revoked_at: now}).where(
        (Invite.org == org_id) & (Invite.status == "pending") & (Invite.invited_by == user_id)
    )
    if user and user.email:
        await Invite.update({Invite.status: "revoked", Invite.revoked_at: now}).where(
            (Invite.org == org_id) & (Invite.status == "pending") & (Invite.email == user.email)
        )
