"""Reading the audit trail (holders of audit.read, their own org only)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from staffroom.accounts.schemas import (
    AuditBreakOut,
    AuditEventOut,
    AuditPage,
    AuditVerificationOut,
)
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.pages import page_filter, page_of
from staffroom.core.tables import AuditEvent


async def list_events(
    principal: Principal,
    *,
    action: str | None,
    outcome: str | None,
    actor_id: uuid.UUID | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> AuditPage:
    """Newest first, filtered, a page at a time."""
    query = AuditEvent.select().where(AuditEvent.org == principal.org_id)
    if action:
        # "auth." matches every auth event; otherwise an exact action
        query = query.where(
            AuditEvent.action.like(f"{action}%")
            if action.endswith(".")
            else AuditEvent.action == action
        )
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    if target_id:
        query = query.where(AuditEvent.target_id == target_id)
    if since:
        query = query.where(AuditEvent.created_at >= since)
    if until:
        query = query.where(AuditEvent.created_at < until)
    if (after := page_filter(AuditEvent, cursor)) is not None:
        query = query.where(after)
    rows = await (
        query.order_by(AuditEvent.created_at, AuditEvent.id, ascending=False)
        .limit(limit + 1)
        .output(load_json=True)
    )
    rows, next_cursor = page_of(rows, limit)
    return AuditPage(
        items=[
            AuditEventOut(
                id=r["id"],
                created_at=r["created_at"],
                actor_type=r["actor_type"],
                actor_id=r["actor_id"],
                action=r["action"],
                outcome=r["outcome"],
                target_type=r["target_type"],
                target_id=r["target_id"],
                ip=r["ip"],
                user_agent=r["user_agent"],
                request_id=r["request_id"],
                details=r["details"],
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )


async def export(
    principal: Principal, ctx: RequestContext, since: datetime | None
) -> AsyncIterator[str]:
    """The org's events as JSON Lines (the export itself is audited first)."""
    await audit.by(principal, ctx, "audit.exported", ("org", principal.org_id))
    return audit.export(principal.org_id, since)


async def verification(principal: Principal) -> AuditVerificationOut:
    """The org's hash chain checked now, as `staffroom audit verify` checks every org's."""
    report = await audit.verify(org_id=principal.org_id)
    return AuditVerificationOut(
        verified=not report.breaks,
        events=report.events,
        checked_at=clock.utcnow(),
        breaks=[
            AuditBreakOut(chain_seq=b.chain_seq, event_id=b.event_id, problem=b.problem)
            for b in report.breaks[:20]
        ],
    )
