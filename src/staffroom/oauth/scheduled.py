"""OAuth's background work (started by core/jobs/runner.py from app.py)."""

from __future__ import annotations

import logging

from staffroom.core.jobs.runner import Periodic
from staffroom.core.runtime import Runtime
from staffroom.oauth.service import housekeeping

log = logging.getLogger("staffroom.oauth")


async def _prune(rt: Runtime) -> None:
    report = await housekeeping.prune(rt)
    if any(report.values()):
        log.info("oauth rows pruned: %s", report)


# Expired authorization codes and long-ended grants (with their refresh tokens) are
# deleted; idempotent deletes, so every worker may run it, as often as retention.
PRUNE = Periodic(
    name="pruning OAuth codes and grants",
    logger="staffroom.oauth",
    run=_prune,
    every=lambda s: s.retention_interval_seconds,
    enabled=lambda s: s.scheduler,
)

JOBS = (PRUNE,)
