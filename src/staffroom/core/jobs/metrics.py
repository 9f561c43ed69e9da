"""The job engine's Prometheus metrics, by queue: tries by outcome (counted as they
happen, in every worker) and open and given-up jobs (read from the database when
`/metrics` is scraped, as `metrics.py` reads the other queue depths)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge

if TYPE_CHECKING:
    from staffroom.core.jobs import JobTable, Outcome

# Read by the worker answering a scrape: across workers, the most recent reading counts.
_READ: dict[str, Any] = {"multiprocess_mode": "mostrecent"}
TRIES = Counter(
    "staffroom_jobs_tries",
    "Tries of queued jobs by queue and outcome (done, retried, given_up)",
    ["queue", "outcome"],
)
OPEN = Gauge("staffroom_jobs_open", "Jobs to do (due or waiting to retry)", ["queue"], **_READ)
GIVEN_UP = Gauge("staffroom_jobs_given_up", "Jobs given up on and kept", ["queue"], **_READ)


def tried(queue: str, outcome: Outcome, n: int = 1) -> None:
    """Count tries of a queue's jobs that ended so."""
    if n:
        TRIES.labels(queue=queue, outcome=outcome.value).inc(n)


async def observe(tables: Iterable[JobTable]) -> None:
    """Read every queue's open and given-up jobs into the gauges (at scrape time)."""
    for table in tables:
        counts = await table.counts()
        OPEN.labels(queue=table.name).set(counts.open)
        GIVEN_UP.labels(queue=table.name).set(counts.given_up)
