"""Sign-in: password login, the second factor, logout and discovery (rules 5, 6, 12).

Setting a password by link is in `password_reset`, changing one's own in
`password_change`, the one-time tokens both use in `one_time`."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.accounts.passwords import verify_password
from staffroom.accounts.schemas import (
    DiscoveredOrg,
    DiscoverOut,
    MfaChallenge,
    SessionScope,
    TokenPair,
)
from staffroom.accounts.service import email_domains, hooks, mfa, one_time, sessions
from staffroom.accounts.service.lookups import org_by_slug, user_in_org
from staffroom.accounts.tables import OneTimeToken, Org, User
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.emails import domain_of, normalize_email
from staffroom.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from staffroom.core.limits import LOGIN_ACCOUNT, LOGIN_IP, MFA_IP
from staffroom.core.runtime import Runtime

INVALID_CREDENTIALS = "The login or password is not correct."


def login_key(login: str) -> str:
    return login.strip().lower()[:320]


async def find_user_by_login(org_id: uuid.UUID, login: str) -> dict[str, Any] | None:
    """The user with this email address or username in the org, if any."""
    login = login.strip()
    if "@" in login:
        try:
            email = normalize_email(login)
        except Invalid:
            return None
        return await User.select().where((User.org == org_id) & (User.email == email)).first()
    return (
        await User.select().where((User.org == org_id) & (User.username == login.lower())).first()
    )


async def login(
    rt: Runtime, org_slug: str, login_: str, password: str, ctx: RequestContext
) -> TokenPair | MfaChallenge:
    """Password login. Unknown, wrong, deactivated: one answer, one timing (rule 5).

    An unknown org slug is told apart (404): slugs are public names, shown by discovery.
    """
    s = rt.settings
    account = LOGIN_ACCOUNT.at(s, org_slug.strip().lower(), login_key(login_))
    ip = LOGIN_IP.at(s, ctx.ip)
    await rt.limiter.check(*ip)
    org = await org_by_slug(org_slug)
    if org is None:
        # Counted against the IP too, so slugs cannot be probed at speed.
        await rt.limiter.hit(*ip)
        raise NotFound("org_not_found", "No organisation has this name.")
    await rt.limiter.check(*account)

    user = await find_user_by_login(org["id"], login_)
    ok = await verify_password(
        rt.keys.pepper, password, user["password_hash"] if user else None, s.bcrypt_rounds
    )
    if not (user and ok and user["status"] == "active"):
        await rt.limiter.hit(*ip)
        await rt.limiter.hit(*account)
        reason = "unknown_user" if user is None else "bad_password" if not ok else "deactivated"
        await audit.record(
            "auth.login",
            outcome="failure",
            ctx=ctx,
            org_id=org["id"],
            target_type="user" if user else None,
            target_id=user["id"] if user else None,
            details={"reason": reason},
        )
        raise Unauthorized("invalid_credentials", INVALID_CREDENTIALS)
    await rt.limiter.clear(account[0])
    # Safe to say: the caller has just proven the password.
    if not org["password_login"]:
        raise Forbidden("password_login_disabled", "This organisation signs in with SSO.")
    if org["sso_required"] and not (user["role"] == "owner" and user["sso_break_glass"]):
        raise Forbidden("sso_required", "This organisation signs in with single sign-on.")
    if await mfa.has_confirmed_factor(user["id"]):
        challenge = await mfa_challenge(rt, user)
        await audit.record(
            "auth.login",
            outcome="mfa_required",
            ctx=ctx,
            org_id=org["id"],
            actor_id=user["id"],
            target_type="user",
            target_id=user["id"],
        )
        return challenge
    scope: SessionScope = "enrol" if org["require_mfa"] else "full"
    pair = await sessions.issue(rt, user, ctx, scope=scope)
    await audit.record(
        "auth.login",
        ctx=ctx,
        org_id=org["id"],
        actor_id=user["id"],
        target_type="user",
        target_id=user["id"],
        details={"scope": scope},
    )
    return pair


async def mfa_challenge(rt: Runtime, user: dict[str, Any]) -> MfaChallenge:
    """The second step a user with a confirmed factor must pass (after a password or SSO)."""
    ttl = rt.settings.mfa_token_ttl
    token = await one_time.new(rt, user, "mfa", ttl)
    return MfaChallenge(mfa_required=True, mfa_token=token, expires_in=ttl)


async def complete_mfa(rt: Runtime, mfa_token: str, code: str, ctx: RequestContext) -> TokenPair:
    """Second step of login: a TOTP or recovery code for the challenge."""
    ip = MFA_IP.at(rt.settings, ctx.ip)
    await rt.limiter.check(*ip)
    invalid = Unauthorized("invalid_mfa_token", "The sign-in attempt has expired; sign in again.")
    now = clock.utcnow()
    challenge = (
        await OneTimeToken.select()
        .where(
            (OneTimeToken.token_hash == rt.keys.digest(mfa_token, purpose="mfa"))
            & (OneTimeToken.purpose == "mfa")
            & OneTimeToken.used_at.is_null()
            & (OneTimeToken.expires_at > now)
        )
        .first()
    )
    if challenge is None:
        await rt.limiter.hit(*ip)
        raise invalid
    user = await user_in_org(challenge["org"], challenge["user"])
    factor = await mfa.factor_of(user["id"])
    if factor is None or factor["confirmed_at"] is None or user["status"] != "active":
        raise invalid
    try:
        method = await mfa.verify_second_factor(rt, factor, code)
    except Unauthorized:
        await rt.limiter.hit(*ip)
        await audit.record(
            "auth.mfa",
            outcome="failure",
            ctx=ctx,
            org_id=user["org"],
            target_type="user",
            target_id=user["id"],
        )
        raise
    if not await one_time.consume(challenge["id"]):
        raise invalid
    pair = await sessions.issue(rt, user, ctx, mfa=True)
    await audit.record(
        "auth.mfa",
        ctx=ctx,
        org_id=user["org"],
        actor_id=user["id"],
        target_type="user",
        target_id=user["id"],
        details={"method": method},
    )
    return pair


async def logout(rt: Runtime, principal: Principal, ctx: RequestContext) -> None:
    """End the caller's current session server-side."""
    if principal.session_id is not None:
        await sessions.revoke(rt, principal.session_id, "logout")
    await audit.record(
        "auth.logout",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="session",
        target_id=principal.session_id,
    )


async def discover(rt: Runtime, email: str) -> DiscoverOut:
    """Which orgs and login methods apply to an address, judged by its domain only.

    The answer is the same whether or not the address has an account.
    """
    address = normalize_email(email)
    org_ids = list({r["org"] for r in await email_domains.covering(domain_of(address))})
    orgs = await Org.select().where(Org.id.is_in(org_ids)).order_by(Org.slug) if org_ids else []
    extra: dict[uuid.UUID, list[str]] = {}
    for provider in hooks.of(rt).login_methods:
        for org_id, methods in (await provider(org_ids)).items():
            extra.setdefault(org_id, []).extend(methods)
    return DiscoverOut(
        email=address,
        orgs=[
            DiscoveredOrg(
                slug=o["slug"],
                name=o["name"],
                methods=(["password"] if o["password_login"] and not o["sso_required"] else [])
                + extra.get(o["id"], []),
            )
            for o in orgs
        ],
    )
