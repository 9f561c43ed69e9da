"""Prometheus metrics: off by default, behind a token, by route template, queue depths."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import msgspec
import pytest
from prometheus_client import CollectorRegistry, multiprocess

from staffroom.cli.server import _shared_metrics
from staffroom.endpoints.metrics import forget_dead_workers
from tests.chat.helpers import group, say
from tests.support.apps import app_client
from tests.support.serve import ServeProcess
from tests.support.world import World, assert_problem, bearer

TOKEN = "scrape-token-0123456789"


async def test_metrics_are_off_without_a_token(client):
    assert_problem(await client.get("/metrics"), 404)
    assert_problem(await client.get("/metrics", headers={"Authorization": "Bearer x"}), 404)


async def test_metrics_count_routes_and_show_queue_depths(settings, world: World):
    async with app_client(settings, metrics_token=TOKEN) as c:
        assert_problem(await c.get("/metrics"), 404)
        assert_problem(await c.get("/metrics", headers={"Authorization": "Bearer wrong"}), 404)
        admin = await bearer(c, world.acme, "admin")
        conv = await group(c, world, admin, "member")
        for i in range(3):
            await say(c, admin, conv["id"], f"m{i}", f"c{i}")
        await c.get(f"/api/v1/conversations/{conv['id']}", headers=admin)
        r = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        text = r.text
        assert "staffroom_requests_total" in text
        # Route templates, never raw ids.
        assert "/api/v1/conversations/{conversation_id}" in text
        assert conv["id"] not in text
        # Three messages, and the conversation's creation told to its two members.
        assert 'staffroom_relay_outbox_depth{target="socket"} 5.0' in text
        assert "staffroom_mail_queue_depth" in text
        assert TOKEN not in text


def _requests_to(text: str, path: str) -> float:
    """The requests counted for a route template, summed over methods and statuses."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("staffroom_requests_total{") and f'path="{path}"' in line
    )


@pytest.mark.one_database("sqlite")
async def test_a_scrape_counts_the_requests_every_worker_served(world: World, tmp_path):
    server = ServeProcess.start(
        "--allow-without-redis",
        workers=2,
        env={"STAFFROOM_METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
    )
    try:
        # A connection per request, many at once: both workers take some.
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server.base, limits=fresh) as api:
            member = await bearer(api, world.acme, "member")
            for _ in range(4):
                answers = await asyncio.gather(
                    *(api.get("/api/v1/me", headers=member) for _ in range(10))
                )
                assert {r.status_code for r in answers} == {200}
            scrape = {"Authorization": f"Bearer {TOKEN}"}
            totals = [
                _requests_to((await api.get("/metrics", headers=scrape)).text, "/api/v1/me")
                for _ in range(6)
            ]
        workers = {p.stem.rsplit("_", 1)[1] for p in tmp_path.glob("counter_*.db")}
        assert len(workers) == 2, workers  # both counted requests…
        assert totals == [40.0] * 6  # …and any scrape, whichever worker answers, has them all
    finally:
        server.stop()


def test_serve_gives_its_workers_a_fresh_metrics_folder_when_metrics_are_on(settings, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    on = msgspec.structs.replace(settings, metrics_token=TOKEN)
    with _shared_metrics(on):
        folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        assert folder.is_dir() and not any(folder.iterdir())
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ and not folder.exists()
    with _shared_metrics(settings):  # metrics off: nothing to share
        assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_a_dead_workers_requests_in_progress_are_forgotten_and_its_counts_kept(tmp_path):
    # A worker that had 3 requests in progress and had served 5 when it was killed.
    died = (
        "from prometheus_client import Counter, Gauge\n"
        "Gauge('inflight', 'x', multiprocess_mode='livesum').inc(3)\n"
        "Counter('served', 'x').inc(5)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", died], env=env, check=True)
    (dead,) = tmp_path.glob("gauge_livesum_*.db")
    # A live worker's gauge (this process stands in for it) must stay.
    alive = tmp_path / f"gauge_livesum_{os.getpid()}.db"
    shutil.copy(dead, alive)
    assert forget_dead_workers(str(tmp_path)) == [int(dead.stem.rsplit("_", 1)[1])]
    assert not dead.exists() and alive.exists()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
    assert registry.get_sample_value("served_total") == 5
    assert registry.get_sample_value("inflight") == 3  # the live one's only, not 6
    assert forget_dead_workers(str(tmp_path)) == []
