"""Compliance's background work (started by core/jobs/runner.py from app.py)."""

from __future__ import annotations

import logging

from staffroom.compliance.service import retention
from staffroom.core.jobs.runner import Periodic
from staffroom.core.runtime import Runtime

log = logging.getLogger("staffroom.retention")


async def _apply_retention(rt: Runtime) -> None:
    report = await retention.run(rt)
    log.info("retention applied: %s", report)


# Every org's retention (chat, posts, audit) and the sweep of abandoned uploads; also
# `staffroom retention run`. Idempotent deletes: every worker may run it.
RETENTION = Periodic(
    name="applying retention",
    logger="staffroom.retention",
    run=_apply_retention,
    every=lambda s: s.retention_interval_seconds,
    enabled=lambda s: s.scheduler,
)

JOBS = (RETENTION,)
