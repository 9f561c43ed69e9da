"""Changing one's own password, and proving it again before a sensitive change (rules 4, 6)."""

from __future__ import annotations

from typing import Any

from staffroom.accounts.passwords import (
    check_policy,
    hash_password,
    identity_words,
    verify_password,
)
from staffroom.accounts.service import sessions
from staffroom.accounts.service.lookups import user_in_org
from staffroom.accounts.tables import User
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Unauthorized
from staffroom.core.limits import PASSWORD_CONFIRM
from staffroom.core.runtime import Runtime


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
    check_policy(new, identity_words(user))
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
