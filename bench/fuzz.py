"""`make fuzz`: the contract fuzzing of tests/reliability/test_contract.py, at depth.

`make test` runs it with 5 examples an operation on PostgreSQL; this runs it on SQLite and
PostgreSQL with at least 100 examples an operation, every check, the coverage phase
(boundary values, and methods an operation does not have: `unsupported_method`,
`allow_header_conformance`), the fuzzing phase and the stateful phase, anonymously, as a
member and as an admin. Zero failures is the bar. What schemathesis said for each run is
summed up in bench/results/fuzz.md (its full output beside it, in bench/results/fuzz/).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "bench" / "results"
PHASES = "examples,coverage,fuzzing,stateful"
WHO = ("anonymous", "member", "admin")
# The last lines of a run (schemathesis's summary: checks, failures, test cases).
_SUMMARY = re.compile(r"=+ SUMMARY =+")


def run(db: str, examples: int, out: Path, timeout: int, who: list[str]) -> tuple[int, float]:
    """The contract test on one database; its runs' output lands in `out`."""
    env = {
        **os.environ,
        "STAFFROOM_TEST_DB": db,
        "STAFFROOM_FUZZ_OUT": str(out),
        "STAFFROOM_FUZZ_EXAMPLES": str(examples),
        "STAFFROOM_FUZZ_PHASES": PHASES,
        "STAFFROOM_FUZZ_TIMEOUT": str(timeout),
        # Every request comes from one address and the anonymous run fuzzes sign-in with
        # thousands of wrong passwords: the per-address lock (tested on its own in
        # tests/accounts) would refuse the member's and admin's sign-ins that follow.
        "STAFFROOM_LOGIN_FAIL_LIMIT_IP": "1000000",
    }
    started = time.monotonic()
    cmd = [sys.executable, "-m", "pytest", "tests/reliability/test_contract.py", "-q"]
    cmd += ["-p", "no:cacheprovider", f"--basetemp={tempfile.mkdtemp(prefix='fuzz-')}"]
    cmd += ["-k", " or ".join(who)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    return done.returncode, time.monotonic() - started


def summary(text: str) -> str:
    """Schemathesis's closing summary of one run (its whole output if it has none)."""
    found = _SUMMARY.search(text)
    tail = text[found.start() :] if found else text[-4000:]
    return tail.strip()[-6000:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--examples", type=int, default=100, help="per operation (>= 100)")
    parser.add_argument("--timeout", type=int, default=4 * 3600, help="seconds per run")
    parser.add_argument("--who", default=",".join(WHO), help="callers, comma-separated")
    args = parser.parse_args()
    out = RESULTS / "fuzz"
    out.mkdir(parents=True, exist_ok=True)
    who = args.who.split(",")
    dbs = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    # Only the runs about to be made lose their earlier output.
    for db in dbs:
        for caller in who:
            (out / f"{db}-{caller}.txt").unlink(missing_ok=True)
    lines = [
        "# Contract fuzzing (`make fuzz`)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {_commit()}: schemathesis, every "
        f"check, phases {PHASES}, {args.examples} examples an operation, fixed seed "
        f"(tests/reliability/test_contract.py); callers: {', '.join(who)}. A caller's section "
        "below may be from an earlier run of that caller (`--who`).",
        "",
        "| database | exit | minutes |",
        "|---|---|---|",
    ]
    codes = []
    for db in dbs:
        code, seconds = run(db, args.examples, out, args.timeout, who)
        codes.append(code)
        lines.append(f"| {db} | {code} | {seconds / 60:.1f} |")
    for db in dbs:
        for who in WHO:
            path = out / f"{db}-{who}.txt"
            text = path.read_text() if path.exists() else "(no output: the run did not start)"
            first = text.splitlines()[0] if text else ""
            lines += ["", f"## {db}, {who}: {first}", "", "```", summary(text), "```"]
    (RESULTS / "fuzz.md").write_text("\n".join(lines) + "\n")
    print(f"written: {RESULTS / 'fuzz.md'}")
    return 0 if all(c == 0 for c in codes) else 1


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    raise SystemExit(main())
