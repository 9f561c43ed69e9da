"""`make scaleout`: the production topology of deploy/ on this machine. Two `staffroom serve`
instances share PostgreSQL and Redis behind HAProxy with deploy/haproxy.cfg as it is (TLS,
WebSocket upgrade, X-Forwarded-For from what the proxy saw: each simulated employee connects
from a loopback address of its own). The load test's employees work through the proxy while
chat sockets stay open; mid-run one instance is SIGKILLed (its whole process tree, as when a
machine dies) and started again 20 s later.

Passes when server errors + timeouts stay under 0.025 % of the requests outside the seconds
after the kill (how many fail inside them, and for how long, is reported), every write the
server acknowledged is stored (bench/checks.py), and every chat socket has every message of
its conversations: live, or by catch-up (`after` its last seq) once it reconnected through the
proxy. Results: bench/results/scaleout.md and scaleout.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.checks import drain, verify
from bench.load import MAX_FAILURE_RATE, MAX_P99_MS
from bench.loadgen import Employee, client_priority, drive, employees, summarise, timeline
from bench.seed import LOAD, seed
from bench.sockets import Reader, open_readers
from bench.stack import Stack
from tests.support.certs import self_signed
from tests.support.serve import ServeProcess, wait_for
from tests.support.servers import free_port

console = Console()
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
RESULTS = Path(__file__).resolve().parent / "results"
# Requests in flight on the killed instance fail, and so may those sent to it before the
# proxy's checks (1 s apart, 2 missed) take it out: these seconds after the kill are judged
# apart from the rest of the run.
KILL_WINDOW = 5.0


@dataclass
class Proxy:
    """HAProxy (Debian's) in the foreground with deploy/haproxy.cfg, its log collected."""

    proc: subprocess.Popen[bytes]
    https: int
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, root: Path, app1: int, app2: int) -> Proxy:
        cert, key = self_signed(root)
        pem = root / "tls.pem"
        pem.write_bytes(cert.read_bytes() + key.read_bytes())
        http, https = free_port(), free_port()
        env = {
            **os.environ,
            "HAPROXY_HTTP_BIND": f"127.0.0.1:{http}",
            "HAPROXY_HTTPS_BIND": f"127.0.0.1:{https}",
            "HAPROXY_CERT": str(pem),
            "HAPROXY_ERRORS": str(DEPLOY / "errors"),
            "STAFFROOM_APP1": f"127.0.0.1:{app1}",
            "STAFFROOM_APP2": f"127.0.0.1:{app2}",
        }
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        proc = subprocess.Popen(
            [binary, "-db", "-f", str(DEPLOY / "haproxy.cfg")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        proxy = cls(proc, https)
        threading.Thread(target=proxy._collect, daemon=True).start()
        import ssl

        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        try:
            wait_for(f"{proxy.base}/health/ready", insecure)
        except OSError:
            proxy.proc.kill()
            raise RuntimeError("HAProxy did not answer:\n" + "".join(proxy.lines)) from None
        return proxy

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https}"

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace"))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@dataclass
class Instances:
    """The two instances, and the output of every one started (for the log checks)."""

    env: dict[str, str]
    ports: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))
    running: list[ServeProcess] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    killed_at: float = 0.0  # seconds into the run
    back_at: float = 0.0
    killed_wall: float = 0.0

    def start(self, index: int) -> ServeProcess:
        server = ServeProcess.start(workers=1, env=self.env, port=self.ports[index])
        self.running.append(server)
        return server

    async def kill_and_restart(self, run_now: Any, at: float, after: float) -> None:
        await asyncio.sleep(at)
        victim = self.running.pop(0)
        self.killed_wall = time.time()
        self.killed_at = run_now()
        victim.kill_all()  # the server and its workers at once, as when its machine dies
        self.outputs.append(victim.output)
        console.log(f"instance on :{victim.port} SIGKILLed at {self.killed_at:.1f} s")
        await asyncio.sleep(after)
        await asyncio.to_thread(self.start, 0)
        self.back_at = run_now()
        console.log(f"instance on :{victim.port} started again at {self.back_at:.1f} s")

    def stop(self) -> None:
        for server in self.running:
            self.outputs.append(server.stop())
        self.running.clear()


async def _run(
    proxy: Proxy, instances: Instances, people: list[Employee], readers: int, args: Any
) -> tuple[Any, list[Reader]]:
    run_box: dict[str, Any] = {}
    started = time.monotonic()
    async with open_readers(proxy.base, people[:readers]) as socks:

        async def load() -> None:
            run_box["run"] = await drive(
                proxy.base, people, args.seconds, own_addresses=True, verify_tls=False
            )

        def now() -> float:
            run = run_box.get("run")
            return time.monotonic() - (run.started if run else started)

        await asyncio.gather(
            load(), instances.kill_and_restart(now, args.kill_at, args.down_seconds)
        )
        # The outbox empties into the sockets before they are judged (no final catch-up:
        # it would hide a message lost while a socket stayed open).
        await asyncio.sleep(5)
    return run_box["run"], socks


async def _unseen(stack: Stack, socks: list[Reader], ledger: Any) -> list[dict[str, Any]]:
    """Each acknowledged message a socket never got, with when it was stored and when that
    socket was open (to tell a gap in delivery from a gap in the catch-up)."""
    import asyncpg

    conn = await asyncpg.connect(stack.pg.url)
    try:
        out = []
        for r in socks:
            for mid in r.missing(ledger):
                row = await conn.fetchrow(
                    "SELECT seq, created_at FROM chat_message WHERE id = $1", uuid.UUID(mid)
                )
                out.append(
                    {
                        "reader": r.emp.email,
                        "message": mid,
                        "seq": row["seq"] if row else None,
                        "stored": row["created_at"].timestamp() if row else None,
                        "socket_open": r.connected,
                    }
                )
        return out
    finally:
        await conn.close()


def judge(samples: list[Any], killed_at: float) -> dict[str, Any]:
    def failed(s: Any) -> bool:
        return bool(s.status >= 500 or s.status <= 0)

    near = [s for s in samples if killed_at - 1 <= s.at <= killed_at + KILL_WINDOW]
    away = [s for s in samples if s not in near]
    near_failed = [s for s in near if failed(s)]
    later = [s for s in samples if s.at > killed_at and failed(s)]
    return {
        "requests": len(samples),
        "failed_near_kill": len(near_failed),
        "failed_near_kill_statuses": sorted({s.status for s in near_failed}),
        "failures_span_s": (max(s.at for s in later) - killed_at) if later else 0.0,
        "away": summarise(away),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--kill-at", type=float, default=70, help="seconds into the run")
    parser.add_argument("--down-seconds", type=float, default=20)
    parser.add_argument("--readers", type=int, default=40, help="employees with a chat socket")
    args = parser.parse_args()
    if not shutil.which("haproxy") and not Path("/usr/sbin/haproxy").exists():
        console.print("[red]haproxy is missing[/red]: `make scaleout` installs it")
        return 1
    with console.status("starting PostgreSQL, Redis, SMTP, moto, PubNub stand-in…"):
        stack = Stack.start()
    proxy: Proxy | None = None
    instances = Instances({**stack.env, "STAFFROOM_TRUSTED_PROXIES": "127.0.0.1/32"})
    try:
        with console.status("seeding the organisation…"):
            seeded = asyncio.run(seed(LOAD, report=lambda m: console.log(m)))
        with console.status("two instances and HAProxy…"):
            instances.start(0)
            instances.start(1)
            proxy = Proxy.start(stack.root, *instances.ports)
        client_priority()
        people = employees(seeded, args.employees)
        console.log(f"{len(people)} employees through {proxy.base} for {args.seconds:.0f} s")
        with console.status("load running; one instance will be killed…"):
            run, socks = asyncio.run(_run(proxy, instances, people, args.readers, args))
        with console.status("waiting for mail and chat relay queues to empty…"):
            queues = asyncio.run(drain(stack))
        instances.stop()
        logs = "".join(instances.outputs)
        window = (instances.killed_wall - 2, instances.killed_wall + KILL_WINDOW)
        findings = asyncio.run(verify(stack, run.ledger, logs, repeat_windows=[window]))
        unseen = asyncio.run(_unseen(stack, socks, run.ledger))
    finally:
        instances.stop()
        if proxy is not None:
            proxy.stop()
        stack.stop()
    verdict = judge(run.samples, instances.killed_at)
    lost = len(unseen)
    away = verdict["away"]
    passed = (
        away["failure_rate"] < MAX_FAILURE_RATE
        and away["p99_ms"] < MAX_P99_MS
        and not findings.problems
        and lost == 0
    )
    result = {
        "passed": passed,
        "args": vars(args),
        "kill": {"at_s": instances.killed_at, "back_at_s": instances.back_at, **verdict},
        "sockets": {
            "readers": len(socks),
            "reconnected": sum(1 for r in socks if r.reconnects),
            "reconnects": sum(r.reconnects for r in socks),
            "longest_gap_s": max((g for r in socks for g in r.gaps), default=0.0),
            "got_live": sum(r.live for r in socks),
            "got_by_catch_up": sum(r.caught_up for r in socks),
            "missing": lost,
        },
        "total": summarise(run.samples),
        "timeline": timeline(run.samples, 5.0),
        "queues": queues,
        "unseen_by_sockets": unseen,
        "problems": findings.problems,
        "facts": findings.facts,
    }
    write(result)
    console.print(RESULTS / "scaleout.md")
    console.print("[green]passed[/green]" if passed else "[red]failed[/red]")
    return 0 if passed else 1


def write(result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scaleout.json").write_text(json.dumps(result, indent=2, default=str))
    k, s, a = result["kill"], result["sockets"], result["kill"]["away"]
    lines = [
        "# `make scaleout`: two instances behind HAProxy, one SIGKILLed mid-run",
        "",
        f"**{'Passed' if result['passed'] else 'Failed'}.** "
        f"{result['args']['employees']} employees for {result['args']['seconds']:.0f} s through "
        "deploy/haproxy.cfg (TLS), 1 worker an instance, PostgreSQL and Redis shared, "
        f"{s['readers']} of them with a chat socket open.",
        "",
        "| | |",
        "|---|---|",
        f"| instance killed (whole process tree, SIGKILL) | at {k['at_s']:.1f} s |",
        f"| started again | at {k['back_at_s']:.1f} s |",
        f"| requests | {k['requests']} |",
        f"| failed in the {KILL_WINDOW:.0f} s after the kill | {k['failed_near_kill']} "
        f"(statuses {k['failed_near_kill_statuses']}) |",
        f"| last failure after the kill | {k['failures_span_s']:.1f} s after it |",
        f"| errors + timeouts away from the kill | {a['failures']} of {a['requests']} "
        f"({a['failure_rate']:.4%}; limit {MAX_FAILURE_RATE:.3%}) |",
        f"| p50 / p99 away from the kill | {a['p50_ms']:.0f} / {a['p99_ms']:.0f} ms "
        f"(limit {MAX_P99_MS:.0f}) |",
        f"| sockets that reconnected through the proxy | {s['reconnected']} "
        f"({s['reconnects']} reconnects; longest gap {s['longest_gap_s']:.1f} s) |",
        f"| messages the sockets got live · by catch-up · missing | {s['got_live']} · "
        f"{s['got_by_catch_up']} · {s['missing']} |",
        f"| queues left after the run | {result['queues']} |",
        "",
        "Problems: " + ("; ".join(result["problems"]) if result["problems"] else "none."),
        "",
        "Per 5 s: requests, failures, p99 ms",
        "",
        "| from s | requests | failures | p99 |",
        "|---:|---:|---:|---:|",
        *(
            f"| {t['from_s']:.0f} | {t['requests']} | {t['failures']} | {t['p99_ms']:.0f} |"
            for t in result["timeline"]
        ),
    ]
    (RESULTS / "scaleout.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
