"""`make load`: 300 simulated employees for 2 minutes against PostgreSQL and 2 workers.

Pass: server errors and timeouts under 0.025 % of requests, p99 under 1 s, and every
acknowledged write still there afterwards. Results: bench/results/load.md and load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from rich.console import Console

from bench import report
from bench.checks import drain, verify
from bench.loadgen import (
    ARRIVALS,
    THINK,
    by_name,
    client_priority,
    drive,
    employees,
    summarise,
    timeline,
)
from bench.seed import LOAD, seed
from bench.stack import Stack

console = Console()
MAX_FAILURE_RATE = 0.00025
MAX_P99_MS = 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--think", type=float, nargs=2, default=THINK, help="seconds between actions"
    )
    args = parser.parse_args()
    with console.status("starting PostgreSQL, Redis, SMTP, moto, PubNub stand-in…"):
        stack = Stack.start()
    try:
        with console.status("seeding the organisation…"):
            seeded = asyncio.run(seed(LOAD, report=lambda m: console.log(m)))
        stack.start_api(workers=args.workers)
        client_priority()  # after the server started: it keeps normal priority
        people = employees(seeded, args.employees)
        console.log(f"{len(people)} employees for {args.seconds:.0f} s, {args.workers} workers")
        before = stack.cpu()
        with console.status("load running…"):
            run = asyncio.run(
                drive(stack.serve.base, people, args.seconds, tuple(args.think))  # type: ignore[union-attr, arg-type]
            )
        cpu = {k: v - before[k] for k, v in stack.cpu().items()}
        with console.status("waiting for mail and chat relay queues to empty…"):
            queues = asyncio.run(drain(stack))
        logs = stack.stop_api()
        findings = asyncio.run(verify(stack, run.ledger, logs))
    finally:
        stack.stop()
    total = summarise(run.samples)
    # Arrivals (sign-ins) are spread over the first minute: the steady state follows.
    steady = summarise([x for x in run.samples if x.at >= ARRIVALS + 5])
    passed = (
        total["failure_rate"] < MAX_FAILURE_RATE
        and total["p99_ms"] < MAX_P99_MS
        and not findings.problems
    )
    report.write_load(
        args,
        total,
        steady,
        by_name(run.samples),
        queues,
        findings,
        passed,
        args.seconds,
        cpu,
        timeline(run.samples),
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
