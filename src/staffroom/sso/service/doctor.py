"""The SSO doctor: every attempt with its precise reason, what was received and expected.

An IdP's attempts are kept in two buckets of 50: those carrying the IdP's signature
(successes, and refusals of what the IdP really sent: clock skew, audience, unknown user …)
and unsigned ones, which anyone can post naming the IdP. Unsigned attempts are also
rate-limited, so a flood of them can neither push the IdP's real attempts out nor churn
its own bucket faster than an admin can read it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from staffroom.core import clock
from staffroom.core.context import Principal
from staffroom.core.errors import RateLimited, Unavailable
from staffroom.core.limits import SSO_DOCTOR_UNSIGNED
from staffroom.core.runtime import Runtime
from staffroom.sso.presets import field_names
from staffroom.sso.schemas import AttemptList, AttemptOut
from staffroom.sso.service.provisioning import redact
from staffroom.sso.tables import SsoAttempt

KEEP = 50


async def _unsigned_allowed(rt: Runtime, org_id: uuid.UUID, idp_id: object) -> bool:
    try:
        await rt.limiter.hit(*SSO_DOCTOR_UNSIGNED.at(rt.settings, org_id, idp_id))
    except (RateLimited, Unavailable):
        # Over the rate (or the shared store is down): not recorded; the audit trail
        # still has every attempt.
        return False
    return True


async def record(
    rt: Runtime,
    org_id: uuid.UUID,
    idp: dict[str, Any] | None,
    *,
    outcome: str,
    signed: bool = True,
    reason: str = "",
    detail: str = "",
    skew_seconds: int | None = None,
    name_id: str = "",
    attributes: dict[str, list[str]] | None = None,
    user_id: uuid.UUID | None = None,
    test_id: uuid.UUID | None = None,
) -> None:
    """Log one attempt and keep only the last 50 per IdP and bucket (and per org for
    unknown issuers); unsigned attempts only at SSO_DOCTOR_UNSIGNED's rate, except the answer
    to an admin's test sign-in (its RelayState is known to the admin's browser only, and
    the console waits for it)."""
    idp_id = idp["id"] if idp else None
    signed = signed and idp is not None
    limited = not signed and test_id is None
    if limited and not await _unsigned_allowed(rt, org_id, idp_id):
        return
    expected = field_names(idp) if idp else {}
    await SsoAttempt.insert(
        SsoAttempt(
            id=uuid.uuid4(),
            org=org_id,
            idp=idp_id,
            outcome=outcome,
            reason=reason,
            detail=detail[:2000],
            skew_seconds=skew_seconds,
            name_id=name_id[:500],
            attributes=redact(attributes or {}),
            expected=expected,
            user=user_id,
            created_at=clock.utcnow(),
            signed=signed,
            test_id=test_id,
        )
    )
    same = (SsoAttempt.org == org_id) & (
        ((SsoAttempt.idp == idp_id) & (SsoAttempt.signed == signed))
        if idp_id
        else SsoAttempt.idp.is_null()
    )
    old = (
        await SsoAttempt.select(SsoAttempt.id)
        .where(same)
        .order_by(SsoAttempt.created_at, ascending=False)
        .limit(1000)  # SQLite wants a LIMIT with an OFFSET
        .offset(KEEP)
    )
    if old:
        await SsoAttempt.delete().where(SsoAttempt.id.is_in([r["id"] for r in old]))


async def attempts(
    principal: Principal, idp_id: uuid.UUID | None, unsigned: bool = False
) -> AttemptList:
    """The last signed (or unsigned) attempts of one IdP, or those no IdP of the org
    could be found for."""
    which = (
        (SsoAttempt.idp == idp_id) & (SsoAttempt.signed == (not unsigned))
        if idp_id
        else SsoAttempt.idp.is_null()
    )
    rows = (
        await SsoAttempt.select()
        .where((SsoAttempt.org == principal.org_id) & which)
        .order_by(SsoAttempt.created_at, ascending=False)
        .limit(KEEP)
        .output(load_json=True)
    )
    return AttemptList(
        items=[attempt_out(r) for r in rows],
        unsigned_count=await _unsigned_count(principal.org_id, idp_id) if idp_id else 0,
    )


def attempt_out(r: dict[str, Any]) -> AttemptOut:
    """An attempt row (JSON loaded) as the doctor shows it."""
    return AttemptOut(
        id=r["id"],
        created_at=r["created_at"],
        outcome=r["outcome"],
        reason=r["reason"],
        detail=r["detail"],
        skew_seconds=r["skew_seconds"],
        name_id=r["name_id"],
        user_id=r["user"],
        attributes=r["attributes"],
        expected=r["expected"],
        signed=r["signed"],
        test_id=r["test_id"],
    )


async def of_test(org_id: uuid.UUID, test_id: uuid.UUID) -> AttemptOut | None:
    """The attempt that answered a test sign-in, if it came."""
    row = (
        await SsoAttempt.select()
        .where((SsoAttempt.org == org_id) & (SsoAttempt.test_id == test_id))
        .order_by(SsoAttempt.created_at, ascending=False)
        .output(load_json=True)
        .first()
    )
    return attempt_out(row) if row else None


async def with_attributes(
    org_id: uuid.UUID, idp_id: uuid.UUID, attempt_id: uuid.UUID | None
) -> AttemptOut | None:
    """The given attempt of the IdP, or its latest signed one that received attributes."""
    where = (SsoAttempt.org == org_id) & (SsoAttempt.idp == idp_id)
    if attempt_id is not None:
        where &= SsoAttempt.id == attempt_id
    else:
        where &= (SsoAttempt.signed == True) & (SsoAttempt.name_id != "")  # noqa: E712
    row = (
        await SsoAttempt.select()
        .where(where)
        .order_by(SsoAttempt.created_at, ascending=False)
        .output(load_json=True)
        .first()
    )
    return attempt_out(row) if row else None


async def failures_since(org_id: uuid.UUID, since: datetime) -> dict[uuid.UUID | None, int]:
    """Failed attempts since then per IdP (None: unknown issuers), signed or not."""
    rows = await SsoAttempt.select(SsoAttempt.idp).where(
        (SsoAttempt.org == org_id)
        & (SsoAttempt.outcome == "failure")
        & (SsoAttempt.created_at >= since)
    )
    counts: dict[uuid.UUID | None, int] = {}
    for r in rows:
        counts[r["idp"]] = counts.get(r["idp"], 0) + 1
    return counts


async def _unsigned_count(org_id: uuid.UUID, idp_id: uuid.UUID) -> int:
    return int(
        await SsoAttempt.count().where(
            (SsoAttempt.org == org_id) & (SsoAttempt.idp == idp_id) & (SsoAttempt.signed == False)  # noqa: E712
        )
    )
