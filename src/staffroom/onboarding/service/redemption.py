"""Redeeming a printed access code: one conditional UPDATE, audited; the person picks a
username (or activates the profile HR prepared).

Failures are limited three ways (OWASP's advice against guessing: slow the client that
fails, without locking out others): per device with exponential backoff, per address
with a ceiling high enough for a site whose staff share one public address, per org.
The device is the app's own id (or the User-Agent), so a script can claim a new one
each time: what it gains is nothing, as the address and org limits still hold and a
code is 80 random bits (at an org's 200 failures per 15 minutes, hitting one of 5,000
live codes takes about 10^13 years).
"""

from __future__ import annotations

import hashlib
from typing import Any

from staffroom.accounts.service import members, people
from staffroom.accounts.service.lookups import org_by_slug, role_exists
from staffroom.accounts.service.rows import UserRow
from staffroom.core import audit, clock
from staffroom.core.context import RequestContext
from staffroom.core.db.sql import transaction
from staffroom.core.errors import DomainError, Gone, NotFound
from staffroom.core.limits import REDEEM_DEVICE, REDEEM_IP, REDEEM_ORG
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name
from staffroom.onboarding.schemas import AcceptedOut, RedeemIn
from staffroom.onboarding.service.codes import INVALID_CODE, REDEEMED, code_digest, code_status
from staffroom.onboarding.service.outcomes import refused as count_refusal
from staffroom.onboarding.service.outcomes import sign_in_new_member
from staffroom.onboarding.tables import AccessCode, AccessCodeBatch


async def redeem(rt: Runtime, data: RedeemIn, ctx: RequestContext) -> AcceptedOut:
    """Turn a code into an account (or activate the profile it is bound to) and sign in."""
    s = rt.settings
    device = _device_key(ctx, data.device_id)
    await rt.limiter.check_backoff(device)
    ip = REDEEM_IP.at(s, ctx.ip)
    await rt.limiter.check(*ip)
    # Every refusal below first counts against the device, then the address and org.
    backoff = REDEEM_DEVICE.rule(s)

    async def refused(*args: Any, **kwargs: Any) -> DomainError:
        await rt.limiter.fail_with_backoff(device, backoff)
        return await count_refusal(*args, **kwargs)

    org = await org_by_slug(data.org)
    if org is None:
        raise await refused(rt, ctx, REDEEMED, NotFound("invalid_code", INVALID_CODE), [ip])
    per_org = REDEEM_ORG.at(s, org["id"])
    await rt.limiter.check(*per_org)
    limits = [ip, per_org]
    row = (
        await AccessCode.select()
        .where((AccessCode.code_hash == code_digest(rt, data.code)) & (AccessCode.org == org["id"]))
        .first()
    )
    if row is None:
        raise await refused(
            rt, ctx, REDEEMED, NotFound("invalid_code", INVALID_CODE), limits, org["id"]
        )
    status = code_status(row, clock.utcnow())
    if status != "unused":
        code = "code_used" if status == "redeemed" else f"code_{status}"
        gone = Gone(code, f"This code is {status}; ask HR for a new one.")
        raise await refused(rt, ctx, REDEEMED, gone, limits, org["id"], ("access_code", row["id"]))
    batch = (
        await AccessCodeBatch.select()
        .where(AccessCodeBatch.id == row["batch"])
        .output(load_json=True)
    )[0]
    bound = None
    if row["bound_user"]:
        bound = await people.person(org["id"], row["bound_user"])
        if bound is None or bound.status != "pending":
            gone = Gone("code_revoked", "This code no longer works; ask HR for a new one.")
            raise await refused(
                rt, ctx, REDEEMED, gone, limits, org["id"], ("access_code", row["id"])
            )
        name = bound.display_name
    else:
        name = clean_name(data.display_name, "display_name")
    await members.check_new_password(data.password, data.username, name)
    hashed = await members.hash_new_password(rt, data.password)
    user = await _claim(row, batch, bound, data.username, name, hashed)
    if bound is None:
        await members.join_existing_groups(org["id"], user["id"], batch["group_ids"])
    signed_in = await sign_in_new_member(rt, user, ctx)
    await audit.record(
        "access_code.redeemed",
        ctx=ctx,
        org_id=org["id"],
        actor_id=user["id"],
        target_type="access_code",
        target_id=row["id"],
        details={"batch_id": str(row["batch"]), "seq": row["seq"], "bound": bound is not None},
    )
    return signed_in


def _device_key(ctx: RequestContext, device_id: str) -> str:
    """The device behind this request: the app's id for itself, else its User-Agent,
    always under the address (a made-up id cannot free another address's device)."""
    device = f"id:{device_id}" if device_id else f"ua:{ctx.user_agent}"
    digest = hashlib.sha256(f"{ctx.ip}\0{device}".encode()).hexdigest()[:32]
    return REDEEM_DEVICE.key(digest)


async def _claim(
    code: dict[str, Any],
    batch: dict[str, Any],
    bound: UserRow | None,
    username: str,
    name: str,
    password_hash: str,
) -> dict[str, Any]:
    """Use the code and create or activate the account, all or nothing."""
    now = clock.utcnow()
    used = Gone("code_used", "This code has already been used.")
    async with transaction(AccessCode):
        # Atomic redemption: of concurrent attempts exactly one passes this UPDATE.
        won = (
            await AccessCode.update({AccessCode.redeemed_at: now})
            .where(
                (AccessCode.id == code["id"])
                & AccessCode.redeemed_at.is_null()
                & AccessCode.revoked_at.is_null()
                & (AccessCode.expires_at > now)
            )
            .returning(AccessCode.id)
        )
        if not won:
            raise used
        if bound is not None:
            user = await members.activate_pending(
                code["org"], bound.id, username=username, password_hash=password_hash
            )
            if user is None:
                raise used
        else:
            role = batch["role"] if await role_exists(code["org"], batch["role"]) else "member"
            user = await members.create_member(
                code["org"],
                username=username,
                display_name=name,
                password_hash=password_hash,
                role=role,
                group_ids=[],
            )
        await AccessCode.update({AccessCode.redeemed_by: user["id"]}).where(
            AccessCode.id == code["id"]
        )
    return user
