"""`make profile`: a flame graph of the server for each benchmark scenario. wrk drives the
scenario (as in `make bench`) while py-spy samples every worker of `staffroom serve`;
one SVG a scenario goes to bench/results/flame-<scenario>.svg. Profile before changing
anything, and read the widest frames first.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from bench import wrk
from bench.run import BENCH_ENV, Actors, scenarios
from bench.seed import FULL, LOAD, seed
from bench.stack import Stack

console = Console()
RESULTS = Path(__file__).resolve().parent / "results"


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on the server and its workers (subprocesses), native frames off, idle off."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    cmd = [spy, "record", "--pid", str(pid), "--subprocesses", "--format", "flamegraph"]
    cmd += ["--rate", "250", "--duration", f"{seconds:.0f}", "--nonblocking", "-o", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15, help="per scenario")
    parser.add_argument("--full", action="store_true", help="the benchmark's 20,000 people")
    parser.add_argument("--only", nargs="*", help="scenario names (default: every one)")
    args = parser.parse_args()
    with console.status("starting PostgreSQL, Redis, SMTP, moto…"):
        stack = Stack.start()
    RESULTS.mkdir(exist_ok=True)
    try:
        with console.status("seeding the organisation…"):
            seeded = asyncio.run(seed(FULL if args.full else LOAD, report=console.log))
        api = stack.start_api(workers=2, env=BENCH_ENV)
        actors = Actors(seeded, api.base)
        asyncio.run(actors.sign_in())
        for name, target in scenarios(actors, str(seeded.all_company_channel)).items():
            if args.only and name not in args.only:
                continue
            out = RESULTS / f"flame-{name}.svg"
            with console.status(f"{name}: wrk and py-spy for {args.seconds:.0f} s…"):
                spy = record(api.proc.pid, args.seconds, out)
                try:
                    wrk.run(api.base, target, args.seconds, api.proc.pid)
                finally:
                    _, err = spy.communicate(timeout=args.seconds + 60)
            if spy.returncode != 0:
                console.print(f"[red]py-spy failed on {name}[/red]: {err.decode()[-500:]}")
                return 1
            console.log(f"{name}: {out}")
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
