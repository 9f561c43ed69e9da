"""`make bench`: a realistic organisation, the endpoints that matter at 32 connections
(wrk), the same server settings for two baselines (a bare Litestar hello-world and a raw
asyncpg handler running the feed page's SQL), 1 and 2 workers, the bulk jobs, and the
results as bench/results/latest.md, latest.json and latest.png.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from typing import Any

import aiohttp
from rich.console import Console

from bench import delivery, openloop, web, wrk
from bench.bench_report import write
from bench.seed import FULL, LOAD, PASSWORD, Seeded, seed
from bench.stack import Stack
from tests.support.serve import ServeProcess

console = Console()
BENCH_ENV = {
    # The built-in relay only (no PubNub) and no general rate limits: the benchmark makes
    # many requests per token on purpose.
    "STAFFROOM_PUBNUB_PUBLISH_KEY": "",
    "STAFFROOM_PUBNUB_SUBSCRIBE_KEY": "",
    "STAFFROOM_PUBNUB_SECRET_KEY": "",
    "STAFFROOM_RATE_IP_PER_SECOND": "1000000",
    "STAFFROOM_RATE_IP_BURST": "1000000",
    "STAFFROOM_RATE_USER_PER_SECOND": "1000000",
    "STAFFROOM_RATE_USER_BURST": "1000000",
    "STAFFROOM_LOGIN_FAIL_LIMIT_IP": "1000000",
    "STAFFROOM_LOG_LEVEL": "WARNING",
    # The import's 10,000 emails stay queued: sending them is not what is measured.
    "STAFFROOM_MAIL_WORKER": "false",
}


# The scenarios whose p99 is measured at half their maximum rate (open loop).
OPEN_LOOP = ("me", "feed", "send")


async def _login(http: aiohttp.ClientSession, email: str, n: int) -> str:
    async with http.post(
        "/api/v1/auth/login",
        json={"org": "bench", "login": email, "password": PASSWORD},
        headers={"X-Forwarded-For": f"10.8.{n // 250 % 250}.{n % 250}"},
    ) as r:
        body = await r.json()
        if r.status != 200:
            raise RuntimeError(f"login failed: {body}")
        return str(body["access_token"])


async def _deep_cursor(http: aiohttp.ClientSession, token: str, pages: int) -> str:
    cursor = ""
    for _ in range(pages):
        url = "/api/v1/feed?limit=20" + (f"&cursor={cursor}" if cursor else "")
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
            cursor = (await r.json())["next_cursor"] or cursor
    return cursor


class Actors:
    """Signed-in members and admins, with what each reads and where each writes."""

    def __init__(self, seeded: Seeded, base: str) -> None:
        self.seeded, self.base = seeded, base
        self.members: list[str] = []
        self.admins: list[str] = []
        self.hashes: list[str] = []
        self.convs: list[str] = []
        self.deep: list[str] = []

    async def sign_in(self, count: int = 32) -> None:
        from staffroom.core.runtime import Runtime
        from staffroom.settings import load_settings

        users = [u for u in self.seeded.users if u[2] == "member"][:count]
        admins = [u for u in self.seeded.users if u[2] == "admin"][:count]
        rt = Runtime.build(load_settings())
        by_user: dict[Any, list[Any]] = {}
        for conv, people in self.seeded.conversations.items():
            for p in people:
                by_user.setdefault(p, []).append(conv)
        async with aiohttp.ClientSession(base_url=self.base) as http:
            for n, (uid, email, _) in enumerate(users):
                token = await _login(http, email, n)
                self.members.append(token)
                self.hashes.append(rt.keys.digest(token, purpose="access"))
                self.convs.append(str(by_user[uid][0]))
            for n, (_, email, _) in enumerate(admins):
                self.admins.append(await _login(http, email, 500 + n))
            self.deep = [await _deep_cursor(http, t, 10) for t in self.members]
        await rt.close()


def scenarios(actors: Actors, everyone: str) -> dict[str, wrk.Target]:
    m, n = actors.members, len(actors.members)
    return {
        "me": wrk.Target(m, ["/api/v1/me"] * n),
        "feed": wrk.Target(m, ["/api/v1/feed?limit=20"] * n),
        "feed_deep": wrk.Target(m, [f"/api/v1/feed?limit=20&cursor={c}" for c in actors.deep]),
        "post": wrk.Target(
            actors.admins,
            [f"/api/v1/channels/{everyone}/posts"] * len(actors.admins),
            "POST",
            '{"title": "Shift update %s", "body": "The **canteen** opens at 7."}',
        ),
        "messages": wrk.Target(m, [f"/api/v1/conversations/{c}/messages" for c in actors.convs]),
        "send": wrk.Target(
            m,
            [f"/api/v1/conversations/{c}/messages" for c in actors.convs],
            "POST",
            '{"client_msg_id": "%s", "body": "On my way"}',
        ),
    }


def login_storm(base: str, seeded: Seeded, seconds: float, per_second: float) -> dict[str, Any]:
    """Sign-ins at a steady rate in a thread of their own (while wrk reads the feed)."""
    done: dict[str, Any] = {"ok": 0, "failed": 0}

    async def storm() -> None:
        people = [u for u in seeded.users if u[2] == "member"][100:]
        async with aiohttp.ClientSession(base_url=base) as http:
            tasks = []
            start = time.monotonic()
            for i, (_, email, _) in enumerate(people):
                at = start + i / per_second
                if at > start + seconds:
                    break
                await asyncio.sleep(max(0, at - time.monotonic()))
                tasks.append(asyncio.create_task(_login(http, email, 1000 + i)))
            for t in tasks:
                try:
                    await t
                    done["ok"] += 1
                except Exception:  # noqa: BLE001 (any failure of a sign-in counts as failed)
                    done["failed"] += 1

    thread = threading.Thread(target=lambda: asyncio.run(storm()))
    thread.start()
    done["thread"] = thread
    return done


def cpu_per_request(
    stack: Stack, server: ServeProcess, target: wrk.Target, seconds: float, **kw: Any
) -> dict[str, Any]:
    """wrk's result plus the CPU each request cost the server, PostgreSQL and Redis (µs):
    steadier than req/s on a machine whose two cores the load generator shares."""
    before = stack.cpu(server)
    result = wrk.run(server.base, target, seconds, server.proc.pid, **kw)
    after = stack.cpu(server)
    done = max(result["requests"], 1)
    result["cpu_us"] = {
        part: (after[part] - before[part]) / done * 1e6 for part in ("server", "postgres", "redis")
    }
    return result


def measure(stack: Stack, seeded: Seeded, workers: int, seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    base_env = {**stack.env, "BENCH_DATABASE_URL": stack.pg.url}
    baseline = ServeProcess.start(
        workers=workers, env=base_env, app="bench.baseline:create_app", probe="/hello"
    )
    try:
        api = stack.start_api(workers=workers, env=BENCH_ENV)
        actors = Actors(seeded, api.base)
        asyncio.run(actors.sign_in())
        hello = wrk.Target(actors.members, ["/hello"] * len(actors.members))
        raw = wrk.Target(actors.members, ["/feed"] * len(actors.members), hashes=actors.hashes)
        console.log(f"{workers} worker(s): baselines")
        results["hello"] = cpu_per_request(stack, baseline, hello, seconds)
        results["raw_feed"] = cpu_per_request(stack, baseline, raw, seconds)
        for name, target in scenarios(actors, str(seeded.all_company_channel)).items():
            console.log(f"{workers} worker(s): {name}")
            results[name] = cpu_per_request(stack, api, target, seconds)
        # Latency below saturation: a constant arrival rate at half the measured maximum.
        for name in OPEN_LOOP:
            rate = results[name]["rps"] / 2
            console.log(f"{workers} worker(s): {name}, open loop at {rate:.0f}/s")
            target = scenarios(actors, str(seeded.all_company_channel))[name]
            results[f"{name}_open"] = openloop.run(api.base, target, rate, seconds)
        # One phone sending alone: the latency of a send itself, without queueing.
        console.log(f"{workers} worker(s): send, one connection")
        one = scenarios(actors, "")["send"]
        results["send_alone"] = cpu_per_request(stack, api, one, seconds, connections=1)
        console.log(f"{workers} worker(s): messages until the other member's socket has them")
        results["send_delivered"] = delivery.measure(
            api.base, actors.members[0], actors.members[1], api.proc.pid
        )
        console.log(f"{workers} worker(s): feed while 10 sign-ins a second run")
        storm = login_storm(api.base, seeded, seconds, 10)
        results["feed_login_storm"] = cpu_per_request(
            stack, api, scenarios(actors, "")["feed"], seconds
        )
        storm["thread"].join()
        results["feed_login_storm"]["logins"] = {k: storm[k] for k in ("ok", "failed")}
        if workers == 2:
            results["bulk"] = asyncio.run(bulk_jobs(api.base, actors, seeded))
    finally:
        stack.stop_api()
        baseline.stop()
    if workers == 2:
        console.log("web app budgets (2 workers, Chromium)")
        server = web.start_server(stack, BENCH_ENV, workers)
        try:
            results["web"] = asyncio.run(web.measure(server.base, seeded))
        finally:
            server.stop()
    return results


async def bulk_jobs(base: str, actors: Actors, seeded: Seeded) -> dict[str, float]:
    """Import 10,000 invites from CSV, create 5,000 access codes, export one user's data."""
    out: dict[str, float] = {}
    auth = {"Authorization": f"Bearer {actors.admins[0]}"}
    rows = "\n".join(f"bulk{i}@bench.example,Person {i}" for i in range(10_000))
    csv = ("email,display_name\n" + rows + "\n").encode()
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(base_url=base, timeout=timeout) as http:
        t = time.monotonic()
        async with http.post(
            "/api/v1/invites/import?dry_run=false",
            data=csv,
            headers={**auth, "Content-Type": "text/csv"},
        ) as r:
            report = await r.json()
            if r.status != 200:
                raise RuntimeError(f"import failed: {report}")
        out["invite_import_10000_s"] = time.monotonic() - t
        out["invites_created"] = float(report.get("counts", {}).get("invite", 0))
        t = time.monotonic()
        body = {"label": "Warehouse", "count": 5000, "expires_in_days": 30}
        async with http.post("/api/v1/access-codes", json=body, headers=auth) as r:
            made = await r.json()
            if r.status != 201:
                raise RuntimeError(f"access codes failed: {made}")
        out["access_codes_5000_s"] = time.monotonic() - t
        t = time.monotonic()
        member = {"Authorization": f"Bearer {actors.members[0]}"}
        async with http.get("/api/v1/me/export", headers=member) as r:
            size = len(await r.read())
            if r.status != 200:
                raise RuntimeError(f"export failed: {r.status}")
        out["export_one_user_s"] = time.monotonic() - t
        out["export_bytes"] = float(size)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10, help="per scenario")
    parser.add_argument("--small", action="store_true", help="the load test's org, not 20k")
    args = parser.parse_args()
    with console.status("starting PostgreSQL, Redis, SMTP, moto…"):
        stack = Stack.start()
    try:
        t = time.monotonic()
        with console.status("seeding the organisation…"):
            seeded = asyncio.run(seed(LOAD if args.small else FULL, report=console.log))
        seed_s = time.monotonic() - t
        stack.psql("UPDATE org SET invite_daily_cap = 100000 WHERE slug = 'bench'")
        runs = {w: measure(stack, seeded, w, args.seconds) for w in (1, 2)}
    finally:
        stack.stop()
    scale = LOAD if args.small else FULL
    ok = write(runs, scale, seed_s, args.seconds)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
