"""Prometheus metrics at /metrics: requests and latencies by route template (Litestar's
Prometheus middleware), relay outbox depth, chat events the dispatcher gave up on, and
mail queue depth, read at scrape time; the job engine's tries, open and given-up jobs
per queue (`core/jobs/metrics.py`).

Off unless STAFFROOM_METRICS_TOKEN is set; then the scraper sends it as a bearer token.
`staffroom serve` gives its workers one folder for prometheus_client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR), so whichever worker answers a scrape reports the counts of
all of them.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from staffroom.accounts.guards import PUBLIC
from staffroom.chat.service import outbox
from staffroom.core.errors import NotFound
from staffroom.core.jobs.metrics import observe
from staffroom.core.mail.queue import MAIL_JOBS
from staffroom.settings import Settings

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Read from the database at scrape time by the worker answering it: across workers, the
# most recent reading is the value.
_QUEUE: dict[str, Any] = {"multiprocess_mode": "mostrecent"}
OUTBOX_DEPTH = Gauge(
    "staffroom_relay_outbox_depth", "Chat events waiting to be relayed", ["target"], **_QUEUE
)
OUTBOX_ABANDONED = Gauge(
    "staffroom_relay_outbox_abandoned",
    "Chat events given up on (refused by the relay, failing every try, or a day old); kept a week",
    ["target"],
    **_QUEUE,
)
MAIL_DEPTH = Gauge("staffroom_mail_queue_depth", "Mails waiting to be delivered", **_QUEUE)


def prometheus(settings: Settings) -> PrometheusConfig | None:
    """The request metrics middleware, when metrics are on."""
    if not settings.metrics_token:
        return None
    return PrometheusConfig(
        app_name="staffroom",
        prefix="staffroom",
        # Route templates, not raw paths: ids must not explode the label space.
        group_path=True,
        exclude=["^/metrics", "^/health"],
    )


async def _queues() -> None:
    for target in outbox.ALL_TARGETS:
        waiting, abandoned = await outbox.depth(target)
        OUTBOX_DEPTH.labels(target=target).set(waiting)
        OUTBOX_ABANDONED.labels(target=target).set(abandoned)
    MAIL_DEPTH.set((await MAIL_JOBS.counts()).open)
    await observe((MAIL_JOBS, outbox.OUTBOX_JOBS))


class MetricsController(Controller):
    path = "/metrics"
    include_in_schema = False
    opt = {PUBLIC: True}  # its own token, not a user's

    @get("")
    async def scrape(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        settings: Settings = request.app.state.settings
        expected = settings.metrics_token
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            # The same answer whether metrics are off or the token is wrong.
            raise NotFound("not_found", "Not found.")
        await _queues()
        return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def forget_dead_workers(folder: str | None = None) -> list[int]:
    """Drop the live gauges (requests in progress) of workers that are gone, so a killed
    and respawned worker's last readings do not count for ever; their counters stay (they
    are totals). Each worker runs this as it starts, which is when a dead one is replaced.
    Returns the pids forgotten."""
    folder = folder or os.environ.get(MULTIPROC_DIR)
    if not folder:
        return []
    gone = []
    for path in Path(folder).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, folder)
            gone.append(pid)
    return sorted(set(gone))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process: alive
        return True
    return True


def _registry() -> CollectorRegistry:
    """Every worker's metrics under `staffroom serve`; this process's own otherwise."""
    if not os.environ.get(MULTIPROC_DIR):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
