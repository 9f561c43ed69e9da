"""Contract fuzzing: schemathesis against the app's own OpenAPI document, every operation,
all checks (no server errors, documented status codes and bodies, negative data
rejected, auth not ignored), the stateful phase over the links it infers; anonymously, as
a member and as an admin. Zero failures.

It runs once per `make test`, on the PostgreSQL run (the production database), with 5
examples an operation; a fixed seed keeps CI repeatable (set STAFFROOM_FUZZ_SEED to
explore). `make fuzz` (bench/fuzz.py) runs it on both databases with 100 examples an
operation and the coverage phase too (boundary values, and methods an operation does
not have), writing what schemathesis said to STAFFROOM_FUZZ_OUT.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serve import ServeProcess
from tests.support.world import PASSWORD, World

SUPPORT = Path(__file__).parents[1] / "support"
# Org-wide switches that would lock the fuzzing user out mid-run (MFA required, password
# login off, SSO required). They are fuzzed anonymously and tested on their own.
LOCKOUT_SWITCHES = ("update_org", "put_sso_settings")

# Set by `make fuzz`: a folder for each run's output (the run then happens on either database).
FUZZ_OUT = os.environ.get("STAFFROOM_FUZZ_OUT")

pytestmark = pytest.mark.skipif(
    os.environ.get("STAFFROOM_TEST_DB") != "postgres" and not FUZZ_OUT,
    reason="contract fuzzing runs once per make test, on the PostgreSQL run",
)


@pytest.fixture(scope="module")
def server() -> Iterator[ServeProcess]:
    proc = ServeProcess.start()
    yield proc
    proc.stop()


@pytest.mark.parametrize("who", ["anonymous", "member", "admin"])
def test_the_api_keeps_its_contract(server: ServeProcess, world: World, who: str) -> None:
    args = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(SUPPORT / "schemathesis.toml"),
        "run",
        f"{server.base}/schema/openapi.json",
        "--checks",
        "all",
        "--phases",
        os.environ.get("STAFFROOM_FUZZ_PHASES", "examples,fuzzing,stateful"),
        "--max-examples",
        os.environ.get("STAFFROOM_FUZZ_EXAMPLES", "5"),
        "--seed",
        os.environ.get("STAFFROOM_FUZZ_SEED", "20261122"),
        # One worker: hypothesis parses lambda sources while validating strategies, and the
        # CPython here (3.11.7) fails when two threads build ASTs at once ("AST constructor
        # recursion depth mismatch", CPython gh-106905); two workers were no faster.
        "--workers",
        "1",
        "--no-color",
        # The API refuses NUL in text with a 400 (PostgreSQL cannot store it; the bad-input
        # catalogue covers that), so generated schema-valid strings leave it out.
        "--generation-allow-x00",
        "false",
        # Rendering thousands of printable access-code cards (a PDF of 2,688 took 15 s while
        # both suites ran) is the slowest legitimate answer: wait for it, and hold every
        # answer to a 60 s limit rather than 10 s.
        "--request-timeout",
        "60",
        "--max-response-time",
        "60",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks"}
    env |= {"ST_BASE": server.base, "ST_ORG": "acme", "ST_PASSWORD": PASSWORD}
    if who != "anonymous":
        env["ST_LOGIN"] = world.acme[who].login
        for operation in LOCKOUT_SWITCHES:
            args += ["--exclude-operation-id", operation]
    if not FUZZ_OUT:
        result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900)
        assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
        return
    # `make fuzz`: the output goes to a file as it comes (a long run can be followed).
    out = Path(FUZZ_OUT) / f"{os.environ.get('STAFFROOM_TEST_DB', 'sqlite')}-{who}.txt"
    started = time.monotonic()
    with out.open("w") as sink:
        code = subprocess.run(
            args,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=int(os.environ.get("STAFFROOM_FUZZ_TIMEOUT", "14400")),
        ).returncode
    text = out.read_text()
    out.write_text(f"exit {code} after {time.monotonic() - started:.0f} s\n{text}")
    assert code == 0, text[-20000:]
