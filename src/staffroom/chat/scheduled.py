"""Chat's background work (started by core/jobs/runner.py from app.py)."""

from __future__ import annotations

from staffroom.chat.service import outbox
from staffroom.core.jobs.runner import Worker

# The relay dispatcher: publishes outbox rows (core/jobs, ordered per conversation), woken
# by every send of this process and polling for the others'. A worker without PubNub
# leaves PubNub's rows to one with it.
RELAY = Worker(
    name="chat outbox round",
    logger="staffroom.chat.outbox",
    once=outbox.dispatch_once,
    wake=lambda rt: rt.relay_wakeup,
    poll=lambda s: s.relay_poll_seconds,
    enabled=lambda s: s.scheduler,
    batch=outbox.BATCH,
)

JOBS = (RELAY,)
