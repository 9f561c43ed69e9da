"""The append-only audit trail of security events (SECURITY.md rule 13)."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.core import clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.tables import AuditEvent

# Keys that must never be written into details, whatever a caller passes.
_SECRET_KEYS = ("password", "token", "secret", "code", "hash", "key")


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if not any(s in k.lower() for s in _SECRET_KEYS)}


async def record(
    action: str,
    *,
    outcome: str = "success",
    ctx: RequestContext | None = None,
    org_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    actor_type: str = "user",
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event: who, what, target, outcome, when, from where."""
    ctx = ctx or RequestContext()
    if actor_id is None and actor_type == "user":
        actor_type = "anonymous"
    await AuditEvent.insert(
        AuditEvent(
            id=uuid.uuid4(),
            org=org_id,
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            outcome=outcome,
            target_type=target_type,
            target_id=str(target_id) if target_id is not None else None,
            ip=ctx.ip[:64],
            user_agent=ctx.user_agent[:300],
            request_id=ctx.request_id[:64],
            details=_clean(details or {}),
            created_at=clock.utcnow(),
        )
    )


async def by(
    principal: Principal,
    ctx: RequestContext,
    action: str,
    target: tuple[str, uuid.UUID],
    details: dict[str, Any] | None = None,
) -> None:
    """Append what a signed-in user did to one object of their org."""
    await record(
        action,
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type=target[0],
        target_id=target[1],
        details=details,
    )
