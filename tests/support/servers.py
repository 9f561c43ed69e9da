"""Real servers for the tests: PostgreSQL 15, Redis and an SMTP server, on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root: use the system's postgres user then.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PostgresServer:
    """A throw-away PostgreSQL cluster (fsync off: test data only)."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def options(port: int, root: Path) -> str:
        """The server's settings: its own port and socket folder, durability off."""
        return (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )

    @classmethod
    def start(cls) -> PostgresServer:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL 15 binaries not found in {PG_BIN}")
        root = Path(tempfile.mkdtemp(prefix="staffroom-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        data, port = root / "data", free_port()
        run = lambda cmd: subprocess.run(  # noqa: E731
            _as_postgres(cmd), check=True, capture_output=True, text=True, timeout=60
        )
        try:
            run(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "--no-sync",
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                ]
            )
            run(
                [
                    str(PG_BIN / "pg_ctl"),
                    "start",
                    "-w",
                    "-D",
                    str(data),
                    "-o",
                    cls.options(port, root),
                    "-l",
                    str(root / "log"),
                ]
            )
        except subprocess.CalledProcessError as exc:
            log = (root / "log").read_text() if (root / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL failed to start: {exc.stderr}\n{log}") from exc
        return cls(root=root, port=port)

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "stop", "-m", "immediate", "-D", str(self.root / "data")]
            ),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class RedisServer:
    """A redis-server without persistence."""

    port: int
    proc: subprocess.Popen[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, port: int | None = None) -> RedisServer:
        """A new server, on a free port or on `port` (one stopped before, started again)."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (make test installs it)")
        port = port or free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return cls(port=port, proc=proc)
            except OSError:
                time.sleep(0.05)
        proc.kill()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class _Zone:
    """TXT records served by the test DNS server; tests set and clear them."""

    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}

    def resolve(self, request: Any, handler: Any) -> Any:
        from dnslib import QTYPE, RCODE, RR, TXT

        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name not in self.txt:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in self.txt[name]:
                reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(value), ttl=60))
        return reply


@dataclass
class DnsServer:
    """A real DNS server (dnslib, UDP) on 127.0.0.1 answering from an editable zone."""

    port: int
    zone: _Zone
    server: Any = field(repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @classmethod
    def start(cls) -> DnsServer:
        from dnslib.server import DNSLogger, DNSServer

        zone, port = _Zone(), free_port()
        server = DNSServer(
            zone, port=port, address="127.0.0.1", logger=DNSLogger(logf=lambda _: None)
        )
        server.start_thread()
        return cls(port=port, zone=zone, server=server)

    def stop(self) -> None:
        self.server.stop()
