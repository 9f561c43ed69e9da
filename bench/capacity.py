"""`make capacity`: how many employees one small box carries. The load test's employee mix
(`bench/loadgen.py`) at 300, 1,000, 2,000 and 3,000 employees, each size on a fresh stack
with everything on this machine: `staffroom serve --workers 2`, PostgreSQL, Redis, the
stand-ins and the load generator.

Sign-ins as at a shift start: nine in ten employees resume yesterday's session with its
refresh token, one in ten signs in with a password at bcrypt cost 12 (the production
default; about 8 a second is what two cores can hash), all of them opening the app over the
first five minutes; then a minute of steady use. Per size: server errors + timeouts, p50 and
p99, CPU per component (the load generator's own measured apart), sign-ins done, and
whether every acknowledged write is found. A size passes within the load test's thresholds
(errors + timeouts < 0.025 %, p99 < 1 s, nothing lost). Results: bench/results/capacity.md,
capacity.json and the chart capacity.png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.load import MAX_FAILURE_RATE, MAX_P99_MS, LoadRun, run_load
from bench.report import machine

console = Console()
RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (300, 1000, 2000, 3000)
ARRIVALS = 300.0


def row(users: int, seconds: float, run: LoadRun) -> dict[str, Any]:
    return {
        "users": users,
        "passed": run.passed,
        "requests": run.total["requests"],
        "rps": run.total["requests"] / seconds,
        "failures": run.total["failures"],
        "failure_rate": run.total["failure_rate"],
        "p50_ms": run.total["p50_ms"],
        "p99_ms": run.total["p99_ms"],
        "steady_p99_ms": run.steady["p99_ms"],
        "cores": {k: v / seconds for k, v in run.cpu.items()},
        "signins": run.signins,
        "acknowledged_writes": run.findings.facts.get("acknowledged_writes", 0),
        "problems": run.findings.problems,
        "queues": run.queues,
    }


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    users = [r["users"] for r in rows]
    fig, (lat, cpu) = plt.subplots(1, 2, figsize=(11, 4.2))
    lat.plot(users, [r["p50_ms"] for r in rows], "o-", label="p50")
    lat.plot(users, [r["p99_ms"] for r in rows], "o-", label="p99")
    lat.axhline(MAX_P99_MS, color="grey", linestyle="--", linewidth=1, label="p99 limit")
    lat.set(xlabel="employees", ylabel="ms", title="Latency, whole run")
    lat.legend()
    parts = list(rows[0]["cores"])
    bottom = [0.0] * len(rows)
    for part in parts:
        values = [r["cores"].get(part, 0.0) for r in rows]
        cpu.bar([str(u) for u in users], values, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    cpu.axhline(os.cpu_count() or 2, color="grey", linestyle="--", linewidth=1)
    cpu.set(xlabel="employees", ylabel="cores busy", title="CPU per component")
    cpu.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(rows: list[dict[str, Any]], seconds: float, arrivals: float) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "capacity.json").write_text(json.dumps(rows, indent=2, default=str))
    chart(rows, RESULTS / "capacity.png")
    carried = max((r["users"] for r in rows if r["passed"]), default=0)
    lines = [
        f"# Capacity: {carried:,} employees on one box" if carried else "# Capacity: none passed",
        "",
        machine(),
        "",
        f"Each size for {seconds:.0f} s on a fresh stack (`staffroom serve --workers 2`, "
        "PostgreSQL, Redis, stand-ins and the load generator on the same two cores). Nine in "
        "ten employees resume a session with its refresh token, one in ten signs in with a "
        f"password at bcrypt cost 12; all open the app over the first {arrivals:.0f} s.",
        "",
        "| employees | result | req/s | errors + timeouts | p50 ms | p99 ms | p99 after the "
        "sign-ins | password sign-ins (ok) | resumed (ok) | writes checked |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r["signins"]
        lines.append(
            f"| {r['users']:,} | {'pass' if r['passed'] else 'FAIL'} | {r['rps']:.0f} | "
            f"{r['failures']} ({r['failure_rate']:.4%}) | {r['p50_ms']:.0f} | "
            f"{r['p99_ms']:.0f} | {r['steady_p99_ms']:.0f} | {s['password']} "
            f"({s['password_ok']}) | {s['resumed']} ({s['resumed_ok']}) | "
            f"{r['acknowledged_writes']} |"
        )
    lines += [
        "",
        f"Limits: errors + timeouts < {MAX_FAILURE_RATE:.3%}, p99 < {MAX_P99_MS:.0f} ms, "
        "every acknowledged write found.",
        "",
        "CPU in cores busy on average (of the machine's "
        f"{os.cpu_count()}; the load generator's thread alone, apart from the stand-ins):",
        "",
        "| employees | " + " | ".join(rows[0]["cores"]) + " |",
        "|---:|" + "---:|" * len(rows[0]["cores"]),
        *(
            f"| {r['users']:,} | " + " | ".join(f"{v:.2f}" for v in r["cores"].values()) + " |"
            for r in rows
        ),
        "",
        "![capacity](capacity.png)",
        "",
        "Problems: "
        + ("; ".join(f"{r['users']}: {p}" for r in rows for p in r["problems"]) or "none."),
    ]
    (RESULTS / "capacity.md").write_text("\n".join(lines) + "\n")


def _one_size(users: int, seconds: float, arrivals: float) -> dict[str, Any]:
    """One size in a Python process of its own: Piccolo's engine and moto's buckets live in
    the process, so a second stack in the same one would find the first one's (stopped)
    database and bucket."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = ["--one", str(users), "--steady", str(seconds - arrivals)]
        args += ["--arrivals", str(arrivals), "--out", out.name]
        subprocess.run([sys.executable, "-m", "bench.capacity", *args], check=True)
        result: dict[str, Any] = json.loads(Path(out.name).read_text())
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--steady", type=float, default=60, help="seconds after the arrivals")
    parser.add_argument("--arrivals", type=float, default=ARRIVALS)
    parser.add_argument(
        "--add",
        action="store_true",
        help="keep the other sizes already in capacity.json (finishing a run cut short)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in its process
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    seconds = args.arrivals + args.steady
    if args.one:
        run = run_load(args.one, seconds, real_signins=True, arrivals=args.arrivals)
        args.out.write_text(json.dumps(row(args.one, seconds, run), default=str))
        return 0
    rows: list[dict[str, Any]] = []
    if args.add and (RESULTS / "capacity.json").exists():
        kept = json.loads((RESULTS / "capacity.json").read_text())
        rows = [r for r in kept if r["users"] not in args.sizes]
    for users in args.sizes:
        console.rule(f"{users} employees")
        rows.append(_one_size(users, seconds, args.arrivals))
        rows.sort(key=lambda r: r["users"])
        # Written after each size: the sizes done are kept if a later one breaks the run.
        write(rows, seconds, args.arrivals)
        done = next(r for r in rows if r["users"] == users)
        console.log(
            f"{users}: {'pass' if done['passed'] else 'FAIL'}, p99 {done['p99_ms']:.0f} ms, "
            f"{done['failures']} failures"
        )
    console.print(RESULTS / "capacity.md")
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
