"""Setting a password by a link: the new owner's setup link, and reset links (requested
with an answer that tells nothing, single use, ending every session; rules 4, 5, 7)."""

from __future__ import annotations

from typing import Any

from staffroom.accounts.passwords import check_policy, hash_password, identity_words
from staffroom.accounts.service import one_time, sessions
from staffroom.accounts.service.auth import find_user_by_login, login_key
from staffroom.accounts.service.lookups import org_by_slug, user_in_org
from staffroom.accounts.tables import OneTimeToken, User
from staffroom.core import audit, clock
from staffroom.core.context import RequestContext
from staffroom.core.errors import Unauthorized
from staffroom.core.limits import RESET_ACCOUNT, RESET_IP
from staffroom.core.runtime import Runtime


async def new_setup_link(rt: Runtime, user: dict[str, Any]) -> str:
    """A one-time link with which a new account holder chooses a password."""
    token = await one_time.new(rt, user, "setup", rt.settings.setup_token_ttl)
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
    token = await one_time.new(rt, user, "reset", s.reset_token_ttl)
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
    await rt.limiter.hit(*RESET_ACCOUNT.at(s, org_slug.strip().lower(), login_key(login_)))


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
    check_policy(password, identity_words(user))
    hashed = await hash_password(rt.keys.pepper, password, rt.settings.bcrypt_rounds)
    if not await one_time.consume(row["id"]):
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
