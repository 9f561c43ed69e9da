"""`make faults`: each dependency fails while the simulated employees keep working.

One stack, seeded once; per fault a load phase with the fault injected 15 s in:
- PostgreSQL stopped for 10 s, then started: 503 + Retry-After during the outage (no
  other 5xx), full service within 10 s after;
- the PubNub stand-in down for 30 s: chat keeps answering; afterwards every message
  reached PubNub, once;
- S3 (moto, behind a gate) refusing connections: uploads get a 503, nothing else fails,
  no media row without its file and no file without its row;
- SMTP down: invites still succeed, the mail is queued and delivered later;
- Redis down: sign-in fails closed with 503, reading keeps working;
- one worker SIGKILLed during writes: it is replaced, nothing is half written.
After all phases: queues drained, then every acknowledged write (the client-side ledger)
is checked in the database, in moto, in the SMTP sink and at PubNub, plus no invite token
in the server's logs and an intact audit chain. Results: bench/results/faults.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from bench import report
from bench.checks import drain, verify
from bench.loadgen import (
    ARRIVALS,
    Employee,
    Ledger,
    Run,
    Sample,
    client_priority,
    drive,
    employees,
    summarise,
)
from bench.seed import LOAD, seed
from bench.stack import Stack

console = Console()
AUTH = {"login"}
READS = {"feed", "messages", "conversations", "me"}
UPLOADS = {"upload_start", "upload_complete", "s3_post"}


@dataclass
class Fault:
    name: str
    title: str
    down: Callable[[Stack], None]
    up: Callable[[Stack], None]
    seconds: float
    # Which failures are expected during the outage, and what must hold.
    judge: Callable[[list[Sample], float, float], list[str]]
    weights: dict[str, int] = field(default_factory=dict)
    # A crash or outage between a publish and its bookkeeping may publish an event again
    # (at-least-once; devices drop repeats by event_id): allowed around these faults only.
    may_repeat: bool = False
    windows: list[tuple[float, float]] = field(default_factory=list)  # wall clock, down→up


def _during(samples: list[Sample], t0: float, t1: float) -> list[Sample]:
    return [s for s in samples if t0 <= s.at <= t1]


def _failed(s: Sample) -> bool:
    return s.status >= 500 or s.status <= 0


def _settles(samples: list[Sample], up: float, within: float = 10.0) -> list[str]:
    late = [s for s in samples if s.at > up + within and _failed(s)]
    return [f"{len(late)} failures more than {within:.0f} s after recovery"] if late else []


def _recovery(samples: list[Sample], up: float) -> float:
    """Seconds from the dependency's return to the last failed request (0: none after)."""
    late = [s.at for s in samples if s.at >= up and _failed(s)]
    return max(late) - up if late else 0.0


def judge_pg(samples: list[Sample], down: float, up: float) -> list[str]:
    out = []
    window = [s for s in _during(samples, down, up + 10) if _failed(s)]
    bad = [s for s in window if s.status != 503 or not s.retry_after]
    if bad:
        kinds = sorted({(s.name, s.status) for s in bad})
        out.append(f"{len(bad)} outage answers were not 503 + Retry-After: {kinds[:8]}")
    if not window:
        out.append("the outage was not seen: no 503 during it")
    # Answered before the outage began (a request in flight at that moment may get a 503).
    before = [s for s in samples if s.at + s.ms / 1000 < down and _failed(s)]
    if before:
        kinds = sorted({(s.name, s.status) for s in before})
        out.append(f"{len(before)} failures before the outage: {kinds[:8]}")
    return out + _settles(samples, up)


def judge_clean(
    names_may_fail: set[str], code: int | None = None, direct: frozenset[str] = frozenset()
) -> Any:
    """Only these endpoints may fail during the outage: the API's with `code` and
    Retry-After, `direct` ones (the phone talking to the dependency itself) as they fail."""

    def judge(samples: list[Sample], down: float, up: float) -> list[str]:
        out = []
        window = _during(samples, down, up + 3)
        others = [s for s in samples if _failed(s) and s.name not in names_may_fail]
        if others:
            kinds = sorted({(s.name, s.status) for s in others})
            out.append(f"{len(others)} failures outside {sorted(names_may_fail)}: {kinds[:8]}")
        if code is not None:
            hit = [s for s in window if s.name in names_may_fail - direct]
            wrong = [s for s in hit if _failed(s) and (s.status != code or not s.retry_after)]
            if wrong:
                out.append(f"{len(wrong)} answers were not {code} + Retry-After")
            if not [s for s in hit if s.status == code]:
                out.append(f"the outage was not seen: no {code} from {sorted(names_may_fail)}")
        return out + _settles(samples, up)

    return judge


def judge_kill(samples: list[Sample], down: float, up: float) -> list[str]:
    # Requests in flight on the killed worker lose their connection; nothing else fails.
    window = [s for s in _during(samples, down - 1, down + 5) if _failed(s)]
    other = [s for s in samples if _failed(s) and s not in window]
    out = [f"{len(other)} failures away from the kill"] if other else []
    return out + _settles(samples, down)


def kill_worker(stack: Stack) -> None:
    assert stack.serve is not None
    children = subprocess.run(
        ["pgrep", "-P", str(stack.serve.proc.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    os.kill(int(children[-1]), signal.SIGKILL)


FAULTS = [
    Fault(
        "postgres",
        "PostgreSQL stopped 10 s",
        lambda s: s.pg.down(),
        lambda s: s.pg.up(),
        10,
        judge_pg,
        may_repeat=True,
    ),
    Fault("pubnub", "PubNub down 30 s", Stack.pubnub_down, Stack.pubnub_up, 30, judge_clean(set())),
    Fault(
        "s3",
        "S3 (moto) unreachable 20 s",
        lambda s: s.s3_gate.close(),
        lambda s: s.s3_gate.open(),
        20,
        judge_clean(UPLOADS, 503, frozenset({"s3_post"})),
        {"upload": 25},
    ),
    Fault(
        "smtp",
        "SMTP down 20 s",
        lambda s: s.smtp.stop(),
        lambda s: s.smtp.start(),
        20,
        judge_clean(set()),
        {"invite": 40},
    ),
    Fault(
        "redis",
        "Redis down 15 s",
        lambda s: s.redis.down(),
        lambda s: s.redis.up(),
        15,
        judge_clean(AUTH, 503),
    ),
    Fault(
        "worker",
        "a worker SIGKILLed during writes",
        kill_worker,
        lambda s: None,
        0,
        judge_kill,
        {"send": 40},
        may_repeat=True,
    ),
]


async def phase(
    stack: Stack, fault: Fault, people: list[Employee], seconds: float, at: float
) -> tuple[Run, float, float]:
    """Run the load with the fault injected `at` seconds in; (run, down, up) times."""
    marks: dict[str, float] = {}

    async def inject(run_started: float) -> None:
        await asyncio.sleep(at)
        # Some people sign in again during every outage (new shift, expired session).
        for emp in random.sample(people, len(people) // 8):
            emp.token = ""
        marks["down"] = time.monotonic() - run_started
        await asyncio.to_thread(fault.down, stack)
        await asyncio.sleep(fault.seconds)
        await asyncio.to_thread(fault.up, stack)
        marks["up"] = time.monotonic() - run_started

    started = time.monotonic()
    wall = time.time() - started  # monotonic -> wall clock, for matching database rows
    task = asyncio.create_task(inject(started))
    run = await drive(stack.serve.base, people, seconds, weights=fault.weights)  # type: ignore[union-attr]
    await task
    shift = run.started - started  # samples are relative to the run's own start
    fault.windows.append((started + wall + marks["down"], started + wall + marks["up"]))
    return run, marks["down"] - shift, marks["up"] - shift


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60, help="load per fault")
    parser.add_argument("--only", nargs="*", default=None, help="fault names to run")
    args = parser.parse_args()
    with console.status("starting PostgreSQL, Redis, SMTP, moto, PubNub stand-in…"):
        stack = Stack.start()
    results: list[dict[str, Any]] = []
    ledger = Ledger()
    try:
        with console.status("seeding the organisation…"):
            seeded = asyncio.run(seed(LOAD, report=lambda m: console.log(m)))
        stack.start_api(workers=2)
        client_priority()  # after the server started: it keeps normal priority
        people = employees(seeded, args.employees)
        with console.status("warming up: everyone signs in…"):
            warm = asyncio.run(drive(stack.serve.base, people, ARRIVALS + 10))  # type: ignore[union-attr]
        ledger.merge(warm.ledger)
        for fault in FAULTS:
            if args.only and fault.name not in args.only:
                continue
            with console.status(f"{fault.title}, under load…"):
                run, down, up = asyncio.run(phase(stack, fault, people, args.seconds, at=15))
            ledger.merge(run.ledger)
            problems = fault.judge(run.samples, down, up)
            results.append(
                {
                    "fault": fault.title,
                    "down_at": down,
                    "up_at": up,
                    "total": summarise(run.samples),
                    "outage": summarise(_during(run.samples, down, up + 10)),
                    "recovered_s": _recovery(run.samples, up),
                    "problems": problems,
                }
            )
            console.log(f"{fault.title}: {'ok' if not problems else problems}")
        with console.status("waiting for mail and chat relay queues to empty…"):
            queues = asyncio.run(drain(stack, seconds=240))
        logs = stack.stop_api()
        repeats = [w for f in FAULTS if f.may_repeat for w in f.windows]
        findings = asyncio.run(verify(stack, ledger, logs, repeats))
        report.server_errors(logs, "faults")
    finally:
        stack.stop()
    passed = not findings.problems and all(not r["problems"] for r in results)
    report.write_faults(args, results, queues, findings, passed)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
