"""The feed's background work (started by core/jobs/runner.py from app.py)."""

from __future__ import annotations

from staffroom.core.jobs.runner import Periodic
from staffroom.core.runtime import Runtime
from staffroom.feeds.service import events


async def _announce_due(rt: Runtime) -> None:
    await events.announce_due(rt.relay)


# Scheduled posts are announced when their publish_at comes (each once: claimed by a
# conditional UPDATE, so every worker may look).
ANNOUNCE_SCHEDULED = Periodic(
    name="announcing scheduled posts",
    logger="staffroom.scheduler",
    run=_announce_due,
    every=lambda s: s.scheduler_poll_seconds,
    enabled=lambda s: s.scheduler,
)

JOBS = (ANNOUNCE_SCHEDULED,)
