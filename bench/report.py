"""Results of `make load`, `make faults` and `make bench`: a Markdown table in
bench/results/, the raw numbers as JSON beside it, and the table printed."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown

RESULTS = Path(__file__).parent / "results"
console = Console()


def machine() -> str:
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · commit {rev or '?'} · "
        f"{os.cpu_count()} CPUs · Python {platform.python_version()} · PostgreSQL 15"
    )


def table(rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| endpoint | requests | 5xx + timeouts | p50 ms | p95 ms | p99 ms | statuses |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, s in rows.items():
        statuses = ", ".join(f"{k}: {v}" for k, v in s["statuses"].items())
        lines.append(
            f"| {name} | {s['requests']} | {s['failures']} | {s['p50_ms']:.0f} | "
            f"{s['p95_ms']:.0f} | {s['p99_ms']:.0f} | {statuses} |"
        )
    return "\n".join(lines)


def server_errors(logs: str, name: str) -> None:
    """The server's ERROR lines, counted by logger and message, and the first few whole
    (`<name>-server-errors.log`): what a run made the server complain about."""
    errors = [json.loads(x) for x in logs.splitlines() if x.startswith("{") and '"ERROR"' in x]
    counts = Counter((e.get("logger", "?"), e.get("message", "?")) for e in errors)
    lines = [f"{n:6d}  {logger}: {message}" for (logger, message), n in counts.most_common()]
    firsts = [json.dumps(e) for e in errors[:5]]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}-server-errors.log").write_text("\n".join([*lines, "", *firsts]) + "\n")


def save(name: str, markdown: str, data: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(markdown)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    console.print(Markdown(markdown))
    console.print(f"written: {RESULTS / name}.md")


def write_load(
    args: Any,
    total: dict[str, Any],
    steady: dict[str, Any],
    rows: dict[str, dict[str, Any]],
    queues: dict[str, int],
    findings: Any,
    passed: bool,
    seconds: float,
    cpu: dict[str, float],
    over_time: list[dict[str, Any]],
) -> None:
    verdict = "PASS" if passed else "FAIL"
    rate = total["requests"] / seconds
    periods = "\n".join(
        f"| {p['from_s']:.0f}–{p['from_s'] + 10:.0f} s | {p['requests']} | {p['failures']} | "
        f"{p['p50_ms']:.0f} | {p['p99_ms']:.0f} |"
        for p in over_time
    )
    cpu_md = ", ".join(f"{k} {v / seconds:.2f}" for k, v in cpu.items())
    md = f"""# Load: {verdict}

{machine()}

{args.users} simulated employees for {seconds:.0f} s against `staffroom serve --workers
{args.workers}` on PostgreSQL 15, Redis, SMTP, S3 (moto) and PubNub (stand-in); think time
{args.think[0]:g}–{args.think[1]:g} s between actions; the employees sign in over the first minute (5 a second), each
from an address of its own (bcrypt cost 10, 70 ms on this CPU).

| | measured | target |
|---|---:|---:|
| requests | {total["requests"]} ({rate:.0f}/s) | |
| server errors + timeouts | {total["failures"]} ({total["failure_rate"]:.4%}) | < 0.025 % |
| p50 / p95 / p99 | {total["p50_ms"]:.0f} / {total["p95_ms"]:.0f} / {total["p99_ms"]:.0f} ms | p99 < 1000 ms |
| after the sign-ins (65 s on): p50 / p95 / p99 | {steady["p50_ms"]:.0f} / {steady["p95_ms"]:.0f} / {steady["p99_ms"]:.0f} ms | |
| acknowledged writes checked | {findings.facts.get("acknowledged_writes", 0)} | all present |
| queues after the run | {queues} | empty |

CPU used during the run, in cores (of {os.cpu_count()}): {cpu_md}.

## Per endpoint

{table(rows)}

## Over time

| period | requests | 5xx + timeouts | p50 ms | p99 ms |
|---|---:|---:|---:|---:|
{periods}

## Checks after the run

{_problems(findings)}
"""
    save(
        "load",
        md,
        {
            "passed": passed,
            "total": total,
            "steady": steady,
            "cpu": cpu,
            "endpoints": rows,
            "queues": queues,
            "problems": findings.problems,
            "facts": findings.facts,
        },
    )


def _problems(findings: Any) -> str:
    facts = ", ".join(f"{k}: {v}" for k, v in findings.facts.items())
    if not findings.problems:
        return f"None failed ({facts})."
    return "\n".join(f"- {p}" for p in findings.problems) + f"\n\n{facts}"


def write_faults(
    args: Any, results: list[dict[str, Any]], queues: dict[str, int], findings: Any, passed: bool
) -> None:
    verdict = "PASS" if passed else "FAIL"
    lines = [
        "| fault | down → up (s into the phase) | requests | failures in the outage "
        "(→ +10 s) | statuses in the outage | last failure after recovery | p99 ms | verdict |",
        "|---|---|---:|---:|---|---:|---:|---|",
    ]
    for r in results:
        o, t = r["outage"], r["total"]
        statuses = ", ".join(f"{k}: {v}" for k, v in o["statuses"].items())
        verdict_row = "ok" if not r["problems"] else "; ".join(r["problems"])
        lines.append(
            f"| {r['fault']} | {r['down_at']:.1f} → {r['up_at']:.1f} | {t['requests']} | "
            f"{o['failures']} | {statuses} | {r['recovered_s']:.1f} s | {t['p99_ms']:.0f} | "
            f"{verdict_row} |"
        )
    md = f"""# Faults: {verdict}

{machine()}

{args.users} simulated employees, `staffroom serve --workers 2`, PostgreSQL 15, Redis,
SMTP, S3 (moto) and PubNub (stand-in). Per fault {args.seconds:.0f} s of load with the fault
injected 15 s in, after a warm-up in which everyone signs in; an eighth of the employees
sign in again when the fault starts. Status 0 is a
connection lost (the killed worker's), -1 a client timeout (10 s).

{chr(10).join(lines)}

## After every phase: queues drained, then the client-side ledger and the data checked

Queues at the end: {queues}.

{_problems(findings)}
"""
    save(
        "faults",
        md,
        {
            "passed": passed,
            "results": results,
            "queues": queues,
            "problems": findings.problems,
            "facts": findings.facts,
        },
    )
