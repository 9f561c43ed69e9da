"""Retention for every kind of data with an org setting: chat messages (chat's own job),
news posts (with their comments, reactions, reads and acknowledgements) and audit events
(a prefix of the org's chain, so verification still holds). `staffroom retention run`
and the scheduler in `staffroom serve` call `run`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from staffroom.accounts.service import lookups
from staffroom.chat.service import retention as chat_retention
from staffroom.core import audit, clock
from staffroom.core.runtime import Runtime
from staffroom.feeds.service import media, tallies


@dataclass(frozen=True)
class RetentionReport:
    messages_deleted: int
    posts_deleted: int
    audit_events_deleted: int
    abandoned_uploads_deleted: int = 0


async def run(rt: Runtime, on_org: Callable[[int, int], None] | None = None) -> RetentionReport:
    """Apply every org's retention settings now, and drop abandoned uploads."""
    chat = await chat_retention.run()
    uploads = await media.sweep_abandoned(rt)
    now = clock.utcnow()
    orgs = await lookups.retention_settings()
    posts = events = 0
    for done, org in enumerate(orgs, start=1):
        if org["post_retention_days"]:
            cutoff = now - timedelta(days=org["post_retention_days"])
            # Out of the kept unread counts first (feeds/service/tallies.py).
            posts += await tallies.delete_before(org["id"], cutoff)
        if org["audit_retention_days"]:
            trimmed = await audit.trim(org["id"], now - timedelta(days=org["audit_retention_days"]))
            events += trimmed
        if on_org is not None:
            on_org(done, len(orgs))
    if posts or events:
        await audit.record(
            "retention.applied",
            actor_type="system",
            details={"posts_deleted": posts, "audit_events_deleted": events},
        )
    return RetentionReport(
        messages_deleted=chat.messages_deleted,
        posts_deleted=posts,
        audit_events_deleted=events,
        abandoned_uploads_deleted=uploads,
    )
