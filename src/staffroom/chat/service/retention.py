"""Chat retention: each org may keep messages for a number of days; older ones are deleted
(`staffroom retention run`, and on a schedule inside `staffroom serve`). Relayed outbox
rows and expired device tokens are cleared on the same run, and events left unrelayed
for a day are abandoned."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from staffroom.accounts.service import people
from staffroom.chat.service.outbox import OUTBOX_JOBS
from staffroom.chat.tables import DeviceToken, Message
from staffroom.core import audit, clock

# Published outbox rows and expired tokens are kept a day for diagnosis. An event not
# relayed within a day is abandoned (a relay down that long, or a target no process serves
# any more): apps have long since fetched what they missed, and a day-old push is noise.
HOUSEKEEPING = timedelta(days=1)
# Abandoned events are kept a week, for whoever looks into why.
ABANDONED_KEPT = timedelta(days=7)
log = logging.getLogger("staffroom.chat.retention")


@dataclass(frozen=True)
class RetentionReport:
    orgs: int
    messages_deleted: int


async def run(on_org: Callable[[int, int], None] | None = None) -> RetentionReport:
    """Apply every org's chat retention now; on_org(done, total) reports progress."""
    now = clock.utcnow()
    orgs = await people.chat_retention()
    total = 0
    for done, org in enumerate(orgs, start=1):
        cutoff = now - timedelta(days=org["chat_retention_days"])
        deleted = await (
            Message.delete()
            .where((Message.org == org["id"]) & (Message.created_at < cutoff))
            .returning(Message.id)
        )
        total += len(deleted)
        if deleted:
            await audit.record(
                "chat.retention_applied",
                actor_type="system",
                org_id=org["id"],
                target_type="org",
                target_id=org["id"],
                details={"messages_deleted": len(deleted), "before": cutoff.isoformat()},
            )
        if on_org is not None:
            on_org(done, len(orgs))
    await OUTBOX_JOBS.purge(done_before=now - HOUSEKEEPING)
    stale = await OUTBOX_JOBS.expire(now - HOUSEKEEPING, "not relayed within a day")
    if stale:
        log.warning("%d chat events not relayed within a day abandoned", stale)
    await OUTBOX_JOBS.purge(given_up_before=now - ABANDONED_KEPT)
    await DeviceToken.delete().where(DeviceToken.expires_at < now - HOUSEKEEPING)
    return RetentionReport(orgs=len(orgs), messages_deleted=total)
