"""Driving HTTP load with wrk: a Lua script rotates the bearer tokens (and makes each
message send unique), `done` prints the summary as JSON, and the server's peak RSS is
sampled from /proc while it runs."""

from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONNECTIONS = 32

_LUA = (Path(__file__).parent / "request.lua").read_text()


def _lua_list(values: list[str]) -> str:
    return ", ".join(json.dumps(v) for v in values)


@dataclass
class Target:
    """What each connection asks, per token: paths (and access hashes for the baseline)."""

    tokens: list[str]
    paths: list[str]
    method: str = "GET"
    # A JSON body with one %s, replaced by a unique id per request (message sends).
    body: str | None = None
    hashes: list[str] | None = None


class RssSampler:
    """The summed resident memory of a process and its children, sampled every 0.2 s."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _pids(self) -> list[int]:
        kids = subprocess.run(
            ["pgrep", "-P", str(self.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [self.pid, *map(int, kids)]

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in self._pids():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
                except OSError:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self.thread.join()


def run(
    base: str, target: Target, seconds: float, server_pid: int, connections: int = CONNECTIONS
) -> dict[str, Any]:
    """wrk at `connections` for `seconds`; its summary plus the server's peak RSS."""
    script = _LUA % {
        "tokens": _lua_list(target.tokens),
        "paths": _lua_list(target.paths),
        "extra": _lua_list(target.hashes or []),
        "method": target.method,
        "body": json.dumps(target.body) if target.body else "nil",
        # wrk's Lua random numbers repeat from run to run: without a run id of its own,
        # a later scenario's "new" messages would be retries of an earlier one's.
        "run": secrets.token_hex(6),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s"]
    with RssSampler(server_pid) as rss:
        out = subprocess.run(
            [*cmd, "-s", fh.name, base], capture_output=True, text=True, check=False
        )
    Path(fh.name).unlink()
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(line[4:])
    result["rps"] = result["requests"] / result["seconds"]
    result["peak_rss_mb"] = rss.peak / 2**20
    return result
