"""The mail queue's worker (started by core/jobs/runner.py from app.py)."""

from __future__ import annotations

from staffroom.core.jobs.runner import Worker
from staffroom.core.runtime import Runtime


async def _deliver_due(rt: Runtime) -> int:
    return await rt.mail.deliver_due()


# Delivers queued mail: woken by every enqueue of this process, polling for retries and
# the mail other processes queued.
MAIL = Worker(
    name="mail worker pass",
    logger="staffroom.mail",
    once=_deliver_due,
    wake=lambda rt: rt.mail.wakeup,
    poll=lambda s: s.mail_poll_seconds,
    enabled=lambda s: s.mail_worker,
)

JOBS = (MAIL,)
