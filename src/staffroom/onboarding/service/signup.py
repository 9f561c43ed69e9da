"""Self-signup for addresses in an org's verified domains (rules 1, 5, 9, 12; T8).

The request always answers 202 and does its work after the response is sent, so
neither the answer nor its timing tells whether an address, account or binding exists.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from staffroom.accounts.service import members
from staffroom.accounts.service.auth import find_user_by_login
from staffroom.accounts.service.lookups import org_by_slug, org_row, role_exists
from staffroom.accounts.service.orgs import org_ref
from staffroom.core import audit, clock
from staffroom.core.context import RequestContext
from staffroom.core.db.sql import transaction
from staffroom.core.emails import normalize_email
from staffroom.core.errors import Gone, NotFound
from staffroom.core.limits import SIGNUP_ADDRESS, SIGNUP_COMPLETE_IP, SIGNUP_IP
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name
from staffroom.core.tokens import new_token
from staffroom.onboarding.schemas import AcceptedOut, SignupPublic
from staffroom.onboarding.service.domain_proof import signup_binding
from staffroom.onboarding.service.outcomes import refused, sign_in_new_member
from staffroom.onboarding.tables import SignupRequest


def _digest(rt: Runtime, token: str) -> str:
    return rt.keys.digest(token, purpose="signup")


async def rate_limit(rt: Runtime, org_slug: str, email: str, ctx: RequestContext) -> str:
    """Count the request per IP and per address (before the 202); returns the address."""
    s = rt.settings
    address = normalize_email(email)
    await rt.limiter.hit(*SIGNUP_IP.at(s, ctx.ip))
    await rt.limiter.hit(*SIGNUP_ADDRESS.at(s, org_slug.strip().lower(), address))
    return address


async def request(rt: Runtime, org_slug: str, address: str, ctx: RequestContext) -> None:
    """Email a signup link when the address is in a verified domain of the org."""
    org = await org_by_slug(org_slug)
    binding = await signup_binding(org["id"], address) if org else None
    if org is None or binding is None:
        await audit.record(
            "signup.requested",
            outcome="ignored",
            ctx=ctx,
            org_id=org["id"] if org else None,
            details={"reason": "unknown_org" if org is None else "domain_not_bound"},
        )
        return
    if await find_user_by_login(org["id"], address) is not None:
        # Tell the owner of the mailbox, not the requester.
        await rt.mail.enqueue(
            address, "signup_existing", org["default_locale"], {"org_name": org["name"]}, org["id"]
        )
        await audit.record(
            "signup.requested",
            outcome="ignored",
            ctx=ctx,
            org_id=org["id"],
            details={"reason": "already_member"},
        )
        return
    token = new_token()
    now = clock.utcnow()
    ttl = rt.settings.signup_token_ttl
    # A new link replaces the older unused ones for the address.
    await SignupRequest.delete().where(
        (SignupRequest.org == org["id"])
        & (SignupRequest.email == address)
        & SignupRequest.used_at.is_null()
    )
    await SignupRequest.insert(
        SignupRequest(
            id=uuid.uuid4(),
            org=org["id"],
            email=address,
            token_hash=_digest(rt, token),
            expires_at=now + timedelta(seconds=ttl),
            created_at=now,
        )
    )
    await rt.mail.enqueue(
        address,
        "signup",
        org["default_locale"],
        {
            "org_name": org["name"],
            "link": f"{rt.settings.effective_app_url}/signup#token={token}",
            "ttl_hours": ttl // 3600,
        },
        org["id"],
    )
    await audit.record(
        "signup.requested",
        ctx=ctx,
        org_id=org["id"],
        details={"domain": binding["domain"]},
    )


async def _by_token(rt: Runtime, token: str) -> dict[str, Any]:
    row = await SignupRequest.select().where(SignupRequest.token_hash == _digest(rt, token)).first()
    if row is None:
        raise NotFound("signup_not_found", "This signup link is not valid.")
    if row["used_at"] is not None:
        raise Gone("signup_used", "This signup link has already been used.")
    if row["expires_at"] <= clock.utcnow():
        raise Gone("signup_expired", "This signup link has expired; ask for a new one.")
    return row


async def _binding_still_valid(row: dict[str, Any]) -> dict[str, Any]:
    # The domain may have been unbound since the mail went out: then the link grants nothing.
    binding = await signup_binding(row["org"], row["email"])
    if binding is None:
        raise Gone("domain_not_bound", "This organisation no longer accepts signups from here.")
    return binding


async def preview(rt: Runtime, token: str) -> SignupPublic:
    """What the person sees before choosing a name and password."""
    row = await _by_token(rt, token)
    await _binding_still_valid(row)
    return SignupPublic(
        org=org_ref(await org_row(row["org"])), email=row["email"], expires_at=row["expires_at"]
    )


async def complete(
    rt: Runtime, token: str, display_name: str, password: str, ctx: RequestContext
) -> AcceptedOut:
    """Create the account for the address the link was sent to, and sign in."""
    limit = SIGNUP_COMPLETE_IP.at(rt.settings, ctx.ip)
    await rt.limiter.check(*limit)
    try:
        row = await _by_token(rt, token)
    except (NotFound, Gone) as exc:
        raise await refused(rt, ctx, "signup.completed", exc, [limit]) from None
    binding = await _binding_still_valid(row)
    name = clean_name(display_name, "display_name")
    await members.check_new_password(password, row["email"], name)
    hashed = await members.hash_new_password(rt, password)
    role = binding["default_role"]
    if not await role_exists(row["org"], role):
        role = "member"  # the custom role was deleted since the binding was set up
    now = clock.utcnow()
    async with transaction(SignupRequest):
        # Atomic redemption: of concurrent completions exactly one passes this UPDATE.
        won = (
            await SignupRequest.update({SignupRequest.used_at: now})
            .where(
                (SignupRequest.id == row["id"])
                & SignupRequest.used_at.is_null()
                & (SignupRequest.expires_at > now)
            )
            .returning(SignupRequest.id)
        )
        if not won:
            raise Gone("signup_used", "This signup link has already been used.")
        user = await members.create_member(
            row["org"],
            email=row["email"],
            display_name=name,
            password_hash=hashed,
            role=role,
            group_ids=[],
            email_verified=True,
        )
        await SignupRequest.update({SignupRequest.user: user["id"]}).where(
            SignupRequest.id == row["id"]
        )
    await members.join_existing_groups(row["org"], user["id"], binding["default_group_ids"])
    signed_in = await sign_in_new_member(rt, user, ctx)
    await audit.record(
        "signup.completed",
        ctx=ctx,
        org_id=row["org"],
        actor_id=user["id"],
        target_type="user",
        target_id=user["id"],
        details={"domain": binding["domain"]},
    )
    return signed_in
