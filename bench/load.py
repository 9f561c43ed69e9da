"""`make load`: simulated employees (300 by default, `--users N`) for 2 minutes against
PostgreSQL and 2 workers.

Pass: server errors and timeouts under 0.025 % of requests, p99 under 1 s, and every
acknowledged write still there afterwards. Results: bench/results/load.md and load.json.
`bench/capacity.py` runs the same at several sizes with sign-ins as in real life.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from bench import report
from bench.checks import drain, verify
from bench.loadgen import (
    ARRIVALS,
    THINK,
    Employee,
    by_name,
    client_priority,
    drive,
    employees,
    summarise,
    timeline,
)
from bench.seed import LOAD, Scale, seed
from bench.stack import Stack

console = Console()
MAX_FAILURE_RATE = 0.00025
MAX_P99_MS = 1000.0
# bcrypt cost of the load runs: 10 (70 ms here) unless sign-ins are as in real life (12).
LOAD_COST = 10
PRODUCTION_COST = 12


@dataclass
class LoadRun:
    total: dict[str, Any]
    steady: dict[str, Any]
    rows: dict[str, dict[str, Any]]
    queues: dict[str, int]
    findings: Any
    passed: bool
    cpu: dict[str, float]  # CPU seconds per component during the run
    over_time: list[dict[str, Any]]
    signins: dict[str, int]


def scale_for(users: int) -> Scale:
    """The load test's organisation grown to `users`: content in proportion to people."""
    if users <= LOAD.users:
        return LOAD
    return Scale(
        users=users,
        admins=max(LOAD.admins, users // 30),
        groups=max(LOAD.groups, users // 25),
        channels=LOAD.channels,
        posts=LOAD.posts,
        reads=LOAD.reads * users // LOAD.users,
        reactions=LOAD.reactions,
        conversations=users,
        messages=LOAD.messages * users // LOAD.users,
    )


async def resume_sessions(people: list[Employee], org: uuid.UUID, every: int) -> None:
    """Give all but one in `every` employees a session of an earlier day (issued by the
    accounts service itself, as a sign-in would), which the app resumes with its refresh
    token; the others sign in with their password."""
    from staffroom.accounts.service import sessions
    from staffroom.core.context import RequestContext
    from staffroom.core.runtime import Runtime
    from staffroom.settings import load_settings

    rt = Runtime.build(load_settings())
    try:
        ctx = RequestContext(ip="10.0.0.1", user_agent="Staffroom/1.0 (bench)")
        for emp in people:
            if emp.n % every:
                user = {"id": emp.user_id, "org": org}
                emp.refresh = (await sessions.issue(rt, user, ctx)).refresh_token
    finally:
        await rt.close()


def run_load(
    users: int,
    seconds: float,
    workers: int = 2,
    think: tuple[float, float] = THINK,
    *,
    real_signins: bool = False,
    arrivals: float = ARRIVALS,
) -> LoadRun:
    """One load run on a fresh stack. With `real_signins` nine in ten employees resume a
    session with its refresh token and one in ten signs in with a password at bcrypt cost
    12, all of them opening the app over `arrivals` seconds."""
    cost = PRODUCTION_COST if real_signins else LOAD_COST
    with console.status("starting PostgreSQL, Redis, SMTP, moto, PubNub stand-in…"):
        stack = Stack.start(bcrypt_rounds=cost)
    try:
        with console.status(f"seeding an organisation of {users} people…"):
            seeded = asyncio.run(seed(scale_for(users), report=lambda m: console.log(m)))
        people = employees(seeded, users)
        if real_signins:
            with console.status("sessions of an earlier day for nine in ten…"):
                asyncio.run(resume_sessions(people, seeded.org_id, every=10))
        stack.start_api(workers=workers)
        client_priority()  # after the server started: it keeps normal priority
        console.log(f"{len(people)} employees for {seconds:.0f} s, {workers} workers")
        before = stack.cpu()
        own_before = time.thread_time()
        with console.status("load running…"):
            run = asyncio.run(
                drive(stack.serve.base, people, seconds, think, arrivals=arrivals)  # type: ignore[union-attr]
            )
        cpu = {k: v - before[k] for k, v in stack.cpu().items()}
        # The generator alone is this thread's CPU; the stand-ins (S3, PubNub, SMTP) run on
        # threads of their own in this process.
        own = time.thread_time() - own_before
        cpu["stand-ins"] = max(0.0, cpu.pop("load generator and stand-ins") - own)
        cpu["load generator"] = own
        with console.status("waiting for mail and chat relay queues to empty…"):
            queues = asyncio.run(drain(stack))
        logs = stack.stop_api()
        findings = asyncio.run(verify(stack, run.ledger, logs))
    finally:
        stack.stop()
    total = summarise(run.samples)
    # Arrivals (sign-ins) are spread over the first minutes: the steady state follows.
    steady = summarise([x for x in run.samples if x.at >= arrivals + 5])
    passed = (
        total["failure_rate"] < MAX_FAILURE_RATE
        and total["p99_ms"] < MAX_P99_MS
        and not findings.problems
    )
    rows = by_name(run.samples)
    signins = {
        "password": rows.get("login", {}).get("requests", 0),
        "password_ok": rows.get("login", {}).get("statuses", {}).get(200, 0),
        "resumed": rows.get("refresh", {}).get("requests", 0),
        "resumed_ok": rows.get("refresh", {}).get("statuses", {}).get(200, 0),
    }
    return LoadRun(
        total, steady, rows, queues, findings, passed, cpu, timeline(run.samples), signins
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", "--employees", dest="users", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--think", type=float, nargs=2, default=THINK, help="seconds between actions"
    )
    args = parser.parse_args()
    result = run_load(args.users, args.seconds, args.workers, tuple(args.think))
    report.write_load(
        args,
        result.total,
        result.steady,
        result.rows,
        result.queues,
        result.findings,
        result.passed,
        args.seconds,
        result.cpu,
        result.over_time,
    )
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
