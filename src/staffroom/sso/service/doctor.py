"""The SSO doctor: every attempt with its precise reason, what was received and expected."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.core import clock
from staffroom.core.context import Principal
from staffroom.sso.presets import mapping_for
from staffroom.sso.schemas import AttemptList, AttemptOut
from staffroom.sso.service.provisioning import redact
from staffroom.sso.tables import SsoAttempt

KEEP = 50


async def record(
    org_id: uuid.UUID,
    idp: dict[str, Any] | None,
    *,
    outcome: str,
    reason: str = "",
    detail: str = "",
    skew_seconds: int | None = None,
    name_id: str = "",
    attributes: dict[str, list[str]] | None = None,
    user_id: uuid.UUID | None = None,
) -> None:
    """Log one attempt and keep only the last 50 per IdP (and per org for unknown issuers)."""
    idp_id = idp["id"] if idp else None
    expected = mapping_for(idp["preset"], idp["attribute_map"]) if idp else {}
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
        )
    )
    same = (SsoAttempt.org == org_id) & (
        (SsoAttempt.idp == idp_id) if idp_id else SsoAttempt.idp.is_null()
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


async def attempts(principal: Principal, idp_id: uuid.UUID | None) -> AttemptList:
    """The last attempts of one IdP (or those no IdP of the org could be found for)."""
    which = (SsoAttempt.idp == idp_id) if idp_id else SsoAttempt.idp.is_null()
    rows = (
        await SsoAttempt.select()
        .where((SsoAttempt.org == principal.org_id) & which)
        .order_by(SsoAttempt.created_at, ascending=False)
        .limit(KEEP)
        .output(load_json=True)
    )
    return AttemptList(
        items=[
            AttemptOut(
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
            )
            for r in rows
        ]
    )
