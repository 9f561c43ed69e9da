"""TOTP second factor and recovery codes (SECURITY.md rule 7)."""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import timedelta
from typing import Any

from piccolo.query import Select

from staffroom.accounts import totp
from staffroom.accounts.passwords import verify_password
from staffroom.accounts.schemas import MfaEnrolmentOut, RecoveryCodesOut, TotpSetupOut
from staffroom.accounts.service import sessions
from staffroom.accounts.service.lookups import org_row, user_in_org
from staffroom.accounts.tables import AuthSession, RecoveryCode, TotpFactor, User
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Conflict, Invalid, NotFound, RateLimited, Unauthorized
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_code, normalize_code

RECOVERY_CODE_COUNT = 10


def _aad(user_id: uuid.UUID) -> bytes:
    # Binds the sealed secret to its user: a row copied onto another user will not open.
    return f"totp:{user_id}".encode()


async def factor_of(user_id: uuid.UUID) -> dict[str, Any] | None:
    """The user's TOTP factor (confirmed or pending), if any."""
    return await TotpFactor.select().where(TotpFactor.user == user_id).first()


async def has_confirmed_factor(user_id: uuid.UUID) -> bool:
    """Whether the user has an active second factor."""
    return await TotpFactor.exists().where(
        (TotpFactor.user == user_id) & TotpFactor.confirmed_at.is_not_null()
    )


def _check_lock(factor: dict[str, Any]) -> None:
    now = clock.utcnow()
    if factor["locked_until"] is not None and factor["locked_until"] > now:
        wait = math.ceil((factor["locked_until"] - now).total_seconds())
        raise RateLimited(wait, "Too many wrong codes; the second factor is locked for a while.")


async def _register_failure(rt: Runtime, factor_id: uuid.UUID) -> None:
    s = rt.settings
    now = clock.utcnow()
    window_start = now - timedelta(seconds=s.mfa_lock_seconds)
    # Start a new counting window when the old one is over.
    await TotpFactor.update(
        {TotpFactor.failed_count: 0, TotpFactor.failed_window_start: now}
    ).where(
        (TotpFactor.id == factor_id)
        & (
            TotpFactor.failed_window_start.is_null()
            | (TotpFactor.failed_window_start < window_start)
        )
    )
    rows = (
        await TotpFactor.update({TotpFactor.failed_count: TotpFactor.failed_count + 1})
        .where(TotpFactor.id == factor_id)
        .returning(TotpFactor.failed_count)
    )
    if rows and rows[0]["failed_count"] >= s.mfa_fail_limit:
        await TotpFactor.update(
            {TotpFactor.locked_until: now + timedelta(seconds=s.mfa_lock_seconds)}
        ).where(TotpFactor.id == factor_id)


async def _accept_totp(rt: Runtime, factor: dict[str, Any], code: str) -> bool:
    secret = rt.keys.decrypt(factor["secret_sealed"], _aad(factor["user"])).decode()
    step = totp.matching_step(secret, code, clock.now_ts())
    if step is None:
        return False
    # Compare-and-set on the last accepted step: a code works once, even in parallel.
    won = (
        await TotpFactor.update({TotpFactor.last_step: step, TotpFactor.failed_count: 0})
        .where(
            (TotpFactor.id == factor["id"])
            & (TotpFactor.last_step.is_null() | (TotpFactor.last_step < step))
        )
        .returning(TotpFactor.id)
    )
    return bool(won)


async def _accept_recovery(rt: Runtime, user_id: uuid.UUID, code: str) -> bool:
    digest = rt.keys.digest(normalize_code(code), purpose="recovery")
    used = (
        await RecoveryCode.update({RecoveryCode.used_at: clock.utcnow()})
        .where(
            (RecoveryCode.user == user_id)
            & (RecoveryCode.code_hash == digest)
            & RecoveryCode.used_at.is_null()
        )
        .returning(RecoveryCode.id)
    )
    return bool(used)


async def _attempt(
    rt: Runtime, factor: dict[str, Any], code: str, *, allow_recovery: bool
) -> str | None:
    """One guarded try: refused while locked, a failure counted; returns the method used."""
    _check_lock(factor)
    digits = code.strip().replace(" ", "")
    if digits.isdigit():
        ok, method = await _accept_totp(rt, factor, digits), "totp"
    elif allow_recovery:
        ok, method = await _accept_recovery(rt, factor["user"], code), "recovery_code"
    else:
        ok, method = False, "totp"
    if not ok:
        await _register_failure(rt, factor["id"])
        return None
    return method


async def verify_second_factor(rt: Runtime, factor: dict[str, Any], code: str) -> str:
    """Accept a TOTP or recovery code once; count failures and lock after too many."""
    method = await _attempt(rt, factor, code, allow_recovery=True)
    if method is None:
        raise Unauthorized("invalid_mfa_code", "The code is not valid.")
    return method


async def _new_recovery_codes(rt: Runtime, user: dict[str, Any]) -> list[str]:
    codes = [new_code() for _ in range(RECOVERY_CODE_COUNT)]
    now = clock.utcnow()
    await RecoveryCode.delete().where(RecoveryCode.user == user["id"])
    await RecoveryCode.insert(
        *[
            RecoveryCode(
                id=uuid.uuid4(),
                org=user["org"],
                user=user["id"],
                code_hash=rt.keys.digest(normalize_code(c), purpose="recovery"),
                created_at=now,
            )
            for c in codes
        ]
    )
    return codes


async def setup(rt: Runtime, principal: Principal) -> TotpSetupOut:
    """Start enrolment: a new secret, inactive until confirmed with a valid code."""
    user = await user_in_org(principal.org_id, principal.user_id)
    existing = await factor_of(user["id"])
    if existing and existing["confirmed_at"] is not None:
        raise Conflict("mfa_already_enabled", "Two-factor authentication is already on.")
    secret = totp.new_secret()
    sealed = rt.keys.encrypt(secret.encode(), _aad(user["id"]))
    await TotpFactor.delete().where(TotpFactor.user == user["id"])
    await TotpFactor.insert(
        TotpFactor(
            id=uuid.uuid4(),
            org=user["org"],
            user=user["id"],
            secret_sealed=sealed,
            created_at=clock.utcnow(),
        )
    )
    org = await org_row(principal.org_id)
    account = user["email"] or user["username"] or user["display_name"]
    uri = totp.provisioning_uri(secret, account, f"Staffroom {org['name']}")
    svg = await asyncio.to_thread(totp.qr_svg, uri)
    return TotpSetupOut(secret=secret, otpauth_uri=uri, qr_svg=svg)


async def confirm(
    rt: Runtime, principal: Principal, code: str, ctx: RequestContext
) -> RecoveryCodesOut:
    """Activate the pending factor with a valid code; returns 10 recovery codes."""
    user = await user_in_org(principal.org_id, principal.user_id)
    factor = await factor_of(user["id"])
    if factor is None or factor["confirmed_at"] is not None:
        raise Conflict("mfa_not_pending", "Start the setup first.")
    if await _attempt(rt, factor, code, allow_recovery=False) is None:
        await _audit(ctx, principal, "mfa.enrol", "failure", user["id"])
        raise Invalid("invalid_mfa_code", "The code is not valid.")
    await TotpFactor.update({TotpFactor.confirmed_at: clock.utcnow()}).where(
        TotpFactor.id == factor["id"]
    )
    codes = await _new_recovery_codes(rt, user)
    # A factor change ends every other session; this one now counts as MFA-verified.
    await sessions.revoke_user(rt, user["id"], "mfa_changed", keep=principal.session_id)
    if principal.session_id is not None:
        await AuthSession.update({AuthSession.scope: "full", AuthSession.mfa: True}).where(
            AuthSession.id == principal.session_id
        )
        # Its MFA state changed: no worker may go on with what it kept of it.
        await realtime.announce_principals_changed(
            rt.relay, principal.org_id, session_ids=[principal.session_id]
        )
    await _audit(ctx, principal, "mfa.enrol", "success", user["id"])
    return RecoveryCodesOut(recovery_codes=codes)


async def disable(
    rt: Runtime, principal: Principal, password: str, code: str, ctx: RequestContext
) -> None:
    """Turn TOTP off: needs the password and a current code (or recovery code)."""
    user = await user_in_org(principal.org_id, principal.user_id)
    factor = await factor_of(user["id"])
    if factor is None or factor["confirmed_at"] is None:
        raise NotFound("mfa_not_enabled", "Two-factor authentication is not on.")
    s = rt.settings
    if not await verify_password(rt.keys.pepper, password, user["password_hash"], s.bcrypt_rounds):
        await _audit(ctx, principal, "mfa.disable", "failure", user["id"])
        raise Unauthorized("invalid_password", "The password is not correct.")
    try:
        await verify_second_factor(rt, factor, code)
    except Unauthorized:
        await _audit(ctx, principal, "mfa.disable", "failure", user["id"])
        raise
    await _remove_factor(user["id"])
    await sessions.revoke_user(rt, user["id"], "mfa_changed", keep=principal.session_id)
    if principal.session_id is not None:
        # No factor any more: where the org requires one, this session may only re-enrol.
        await AuthSession.update({AuthSession.mfa: False}).where(
            AuthSession.id == principal.session_id
        )
        await realtime.announce_principals_changed(
            rt.relay, principal.org_id, session_ids=[principal.session_id]
        )
    await _audit(ctx, principal, "mfa.disable", "success", user["id"])


async def regenerate_recovery_codes(
    rt: Runtime, principal: Principal, code: str, ctx: RequestContext
) -> RecoveryCodesOut:
    """Replace all recovery codes (the old ones stop working); needs a current code."""
    user = await user_in_org(principal.org_id, principal.user_id)
    factor = await factor_of(user["id"])
    if factor is None or factor["confirmed_at"] is None:
        raise NotFound("mfa_not_enabled", "Two-factor authentication is not on.")
    if await _attempt(rt, factor, code, allow_recovery=False) is None:
        raise Unauthorized("invalid_mfa_code", "The code is not valid.")
    codes = await _new_recovery_codes(rt, user)
    await _audit(ctx, principal, "mfa.recovery_codes_regenerated", "success", user["id"])
    return RecoveryCodesOut(recovery_codes=codes)


async def admin_reset(
    rt: Runtime, principal: Principal, user_id: uuid.UUID, ctx: RequestContext
) -> None:
    """An admin removes a user's factor (lost phone); the user's sessions end."""
    user = await user_in_org(principal.org_id, user_id)
    if not await TotpFactor.exists().where(TotpFactor.user == user["id"]):
        raise NotFound("mfa_not_enabled", "This user has no second factor.")
    await _remove_factor(user["id"])
    await sessions.revoke_user(rt, user["id"], "mfa_reset")
    await _audit(ctx, principal, "mfa.admin_reset", "success", user["id"])


async def _remove_factor(user_id: uuid.UUID) -> None:
    await TotpFactor.delete().where(TotpFactor.user == user_id)
    await RecoveryCode.delete().where(RecoveryCode.user == user_id)
    await User.update({User.updated_at: clock.utcnow()}).where(User.id == user_id)


async def _audit(
    ctx: RequestContext, principal: Principal, action: str, outcome: str, user_id: uuid.UUID
) -> None:
    await audit.record(
        action,
        outcome=outcome,
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="user",
        target_id=user_id,
    )


def enrolled_users(org_id: uuid.UUID) -> Select[TotpFactor]:
    """Who of the org has a confirmed authenticator app, as a subquery of user ids."""
    return TotpFactor.select(TotpFactor.user).where(
        (TotpFactor.org == org_id) & TotpFactor.confirmed_at.is_not_null()
    )


async def enrolment(org_id: uuid.UUID) -> MfaEnrolmentOut:
    """How many active people of the org have and have not set up 2FA: the one count the
    security settings show and the console's home warns of where the org requires 2FA."""
    active = (User.org == org_id) & (User.status == "active")
    count = await User.count().where(active)
    missing = await User.count().where(active & User.id.not_in(enrolled_users(org_id)))
    return MfaEnrolmentOut(active=count, enrolled=count - missing, not_enrolled=missing)
