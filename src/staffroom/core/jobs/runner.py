"""One runner for an app's background work, started by the app's lifespan.

Each domain declares its work in its `scheduled.py` (as Netflix Dispatch does), and
`app.py` hands the lists to `running`:

- a `Worker` works a job queue: it does what is due, goes again at once while it finds a
  full batch, then sleeps until woken (something was queued in this process) or for its
  poll interval (work queued by other processes, retries coming due);
- a `Periodic` runs every so often (scheduled posts, retention).

Every worker of every instance runs them: claims (queues) and conditional updates
(periodic work) keep two of them from doing the same thing twice. A failed round is
logged (`core/logs.py::round_failed`: one line for an outage, a traceback for a fault)
and the next round comes as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from staffroom.core.logs import round_failed
from staffroom.core.runtime import Runtime
from staffroom.settings import Settings


@dataclass(frozen=True)
class Worker:
    """A job queue's worker loop."""

    name: str  # says what failed: "<name> failed"
    logger: str
    once: Callable[[Runtime], Awaitable[int]]  # does what is due; returns how many
    wake: Callable[[Runtime], asyncio.Event]
    poll: Callable[[Settings], float]
    enabled: Callable[[Settings], bool]
    # A round that did this many goes again at once (more is waiting); None: one a round.
    batch: int | None = None


@dataclass(frozen=True)
class Periodic:
    """Work done every so often."""

    name: str
    logger: str
    run: Callable[[Runtime], Awaitable[object]]
    every: Callable[[Settings], float]
    enabled: Callable[[Settings], bool]


async def work(rt: Runtime, worker: Worker) -> None:
    """Run a worker until cancelled."""
    log = logging.getLogger(worker.logger)
    wake = worker.wake(rt)
    while True:
        wake.clear()
        try:
            while await worker.once(rt) == worker.batch:
                pass
        except Exception as exc:  # noqa: BLE001 (the loop outlives a failed round: logged, retried)
            round_failed(log, f"{worker.name} failed", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), worker.poll(rt.settings))


async def repeat(rt: Runtime, periodic: Periodic) -> None:
    """Run periodic work until cancelled."""
    log = logging.getLogger(periodic.logger)
    while True:
        try:
            await periodic.run(rt)
        except Exception as exc:  # noqa: BLE001 (the loop outlives a failed round: logged, retried)
            round_failed(log, f"{periodic.name} failed", exc)
        await asyncio.sleep(periodic.every(rt.settings))


@contextlib.asynccontextmanager
async def running(rt: Runtime, jobs: Sequence[Worker | Periodic]) -> AsyncIterator[list[str]]:
    """Run the enabled ones while the context is open (yields their names); cancelled and
    awaited on the way out."""
    tasks: dict[str, asyncio.Task[None]] = {}
    for job in jobs:
        if job.enabled(rt.settings):
            loop = work(rt, job) if isinstance(job, Worker) else repeat(rt, job)
            tasks[job.name] = asyncio.create_task(loop, name=f"staffroom {job.name}")
    try:
        yield list(tasks)
    finally:
        for task in tasks.values():
            task.cancel()
        for task in tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
