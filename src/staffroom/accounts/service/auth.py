"""Login, second factor, discovery, password reset and change (rules 4, 5, 6, 7, 12)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from staffroom.accounts.passwords import check_policy, hash_password, verify_password
from staffroom.accounts.schemas import (
    DiscoveredOrg,
    DiscoverOut,
    MfaChallenge,
    SessionScope,
    TokenPair,
)
from staffroom.accounts.service import domains, hooks, mfa, sessions
from staffroom.accounts.service.common import org_by_slug, user_in_org
from staffroom.accounts.tables import OneTimeToken, Org, User
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.emails import domain_of, normalize_email
from staffroom.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from staffroom.core.limits import (
    LOGIN_ACCOUNT,
    LOGIN_IP,
    MFA_IP,
    PASSWORD_CONFIRM,
    RESET_ACCOUNT,
    RESET_IP,
)
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token

INVALID_CREDENTIALS = "The login or password is not correct."


def _login_key(login: str) -> str:
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
    account = LOGIN_ACCOUNT.at(s, org_slug.strip().lower(), _login_key(login_))
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
    token = await _new_one_time(rt, user, "mfa", ttl)
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
    if not await _consume(challenge["id"]):
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
    org_ids = list({r["org"] for r in await domains.covering(domain_of(address))})
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


async def _new_one_time(rt: Runtime, user: dict[str, Any], purpose: str, ttl: int) -> str:
    token = new_token()
    now = clock.utcnow()
    await OneTimeToken.insert(
        OneTimeToken(
            id=uuid.uuid4(),
            org=user["org"],
            user=user["id"],
            purpose=purpose,
            token_hash=rt.keys.digest(token, purpose=purpose),
            expires_at=now + timedelta(seconds=ttl),
            created_at=now,
        )
    )
    return token


async def _consume(token_id: uuid.UUID) -> bool:
    """Mark a one-time token used; True for exactly one concurrent caller."""
    rows = (
        await OneTimeToken.update({OneTimeToken.used_at: clock.utcnow()})
        .where((OneTimeToken.id == token_id) & OneTimeToken.used_at.is_null())
        .returning(OneTimeToken.id)
    )
    return bool(rows)


async def new_setup_link(rt: Runtime, user: dict[str, Any]) -> str:
    """A one-time link with which a new account holder chooses a password."""
    token = await _new_one_time(rt, user, "setup", rt.settings.setup_token_ttl)
    # In the fragment: browsers never send it to a server, so it reaches no log.
    return f"{rt.settings.effective_app_url}/setup#token={token}"


async def request_password_reset(
    rt: Runtime, org_slug: str, login_: str, ctx: RequestContext
) -> None:
    """Email a reset link if the account exists; callers always answer 202 (rule 5).

    Runs after the response has been sent, so its timing cannot tell anything either.
    """
    s = rt.settings
    org = await org_by_slug(org_slug)
    user = await find_user_by_login(org["id"], login_) if org else None
    if org is None or user is None or user["status"] != "active" or not user["email"]:
        await audit.record(
            "auth.password_reset_requested",
            outcome="ignored",
            ctx=ctx,
            org_id=org["id"] if org else None,
        )
        return
    # A new link replaces any older one.
    await OneTimeToken.delete().where(
        (OneTimeToken.user == user["id"])
        & (OneTimeToken.purpose == "reset")
        & OneTimeToken.used_at.is_null()
    )
    token = await _new_one_time(rt, user, "reset", s.reset_token_ttl)
    await rt.mail.enqueue(
        user["email"],
        "password_reset",
        user["locale"],
        {
            "org_name": org["name"],
            "display_name": user["display_name"],
            "link": f"{s.effective_app_url}/reset-password#token={token}",
            "ttl_minutes": s.reset_token_ttl // 60,
        },
        org_id=org["id"],
    )
    await audit.record(
        "auth.password_reset_requested",
        ctx=ctx,
        org_id=org["id"],
        target_type="user",
        target_id=user["id"],
    )


async def reset_rate_limit(rt: Runtime, org_slug: str, login_: str, ctx: RequestContext) -> None:
    """Limit reset requests per login and per IP (before the 202 is sent)."""
    s = rt.settings
    await rt.limiter.hit(*RESET_IP.at(s, ctx.ip))
    await rt.limiter.hit(*RESET_ACCOUNT.at(s, org_slug.strip().lower(), _login_key(login_)))


async def confirm_password_token(
    rt: Runtime, token: str, password: str, ctx: RequestContext
) -> None:
    """Set a password with a reset or setup link: single use, ends every session.

    No session is issued: the user signs in afterwards, with MFA if they have it.
    """
    now = clock.utcnow()
    candidates = [
        (purpose, rt.keys.digest(token, purpose=purpose)) for purpose in ("reset", "setup")
    ]
    row = None
    for purpose, digest in candidates:
        row = (
            await OneTimeToken.select()
            .where((OneTimeToken.token_hash == digest) & (OneTimeToken.purpose == purpose))
            .first()
        )
        if row is not None:
            break
    if row is None or row["used_at"] is not None or row["expires_at"] <= now:
        raise Unauthorized("invalid_token", "This link is not valid or has expired.")
    user = await user_in_org(row["org"], row["user"])
    if user["status"] != "active":
        raise Unauthorized("invalid_token", "This link is not valid or has expired.")
    # Check the policy before using the token, so a rejected password does not burn the link.
    check_policy(password, _identity_words(user))
    hashed = await hash_password(rt.keys.pepper, password, rt.settings.bcrypt_rounds)
    if not await _consume(row["id"]):
        raise Unauthorized("invalid_token", "This link is not valid or has expired.")
    values: dict[Any, Any] = {User.password_hash: hashed, User.updated_at: now}
    if user["email"] and user["email_verified_at"] is None:
        # The link went to this address, so following it proves the address.
        values[User.email_verified_at] = now
    await User.update(values).where(User.id == user["id"])
    revoked = await sessions.revoke_user(rt, user["id"], "password_reset")
    await audit.record(
        "auth.password_set" if row["purpose"] == "setup" else "auth.password_reset",
        ctx=ctx,
        org_id=user["org"],
        actor_id=user["id"],
        target_type="user",
        target_id=user["id"],
        details={"sessions_revoked": revoked},
    )


def _identity_words(user: dict[str, Any]) -> tuple[str, ...]:
    email = user["email"] or ""
    return (email, email.split("@")[0], user["username"] or "", user["display_name"])


async def confirm_own_password(
    rt: Runtime, principal: Principal, password: str, ctx: RequestContext, action: str
) -> dict[str, Any]:
    """The caller's row, once they have proven their password again (rate-limited, audited)."""
    s = rt.settings
    limit = PASSWORD_CONFIRM.at(s, principal.user_id)
    await rt.limiter.check(*limit)
    user = await user_in_org(principal.org_id, principal.user_id)
    if not await verify_password(rt.keys.pepper, password, user["password_hash"], s.bcrypt_rounds):
        await rt.limiter.hit(*limit)
        await audit.record(
            action,
            outcome="failure",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="user",
            target_id=principal.user_id,
            details={"reason": "invalid_password"},
        )
        raise Unauthorized("invalid_password", "The current password is not correct.")
    return user


async def change_password(
    rt: Runtime, principal: Principal, current: str, new: str, ctx: RequestContext
) -> None:
    """Change one's own password: needs the current one; ends the other sessions."""
    s = rt.settings
    user = await confirm_own_password(rt, principal, current, ctx, "auth.password_change")
    check_policy(new, _identity_words(user))
    hashed = await hash_password(rt.keys.pepper, new, s.bcrypt_rounds)
    await User.update({User.password_hash: hashed, User.updated_at: clock.utcnow()}).where(
        User.id == user["id"]
    )
    revoked = await sessions.revoke_user(
        rt, user["id"], "password_changed", keep=principal.session_id
    )
    await audit.record(
        "auth.password_change",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="user",
        target_id=principal.user_id,
        details={"sessions_revoked": revoked},
    )
