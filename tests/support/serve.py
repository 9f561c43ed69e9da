"""`staffroom serve` as a real process, for tests that need sockets, workers or TLS."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field

from tests.support.servers import free_port


def wait_for(url: str, context: ssl.SSLContext | None = None, seconds: float = 30) -> bytes:
    """GET a URL until it answers (the server may still be starting)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as resp:  # noqa: S310
                return bytes(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass
class ServeProcess:
    """A running `staffroom serve`; its output is collected by a thread so the pipe never fills."""

    proc: subprocess.Popen[bytes]
    port: int
    scheme: str
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @classmethod
    def start(
        cls,
        *args: str,
        workers: int = 1,
        tls: bool = False,
        env: Mapping[str, str] | None = None,
        context: ssl.SSLContext | None = None,
        app: str | None = None,
        probe: str = "/health/live",
        port: int | None = None,
        start_seconds: float = 30,
    ) -> ServeProcess:
        """`staffroom serve`, or granian serving another ASGI app factory (`app`) with the
        same settings (the benchmark's baselines)."""
        port = port or free_port()
        if app is None:
            cmd = [sys.executable, "-m", "staffroom", "serve", "--port", str(port)]
        else:
            cmd = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory"]
            cmd += ["--port", str(port), "--respawn-failed-workers", app]
        cmd += ["--workers", str(workers), *args]
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        server = cls(proc=proc, port=port, scheme="https" if tls else "http")
        server.reader = threading.Thread(target=server._collect, daemon=True)
        server.reader.start()
        try:
            wait_for(f"{server.base}{probe}", context, start_seconds)
            # granian hangs if told to stop while a worker is still starting: wait for all.
            deadline = time.monotonic() + start_seconds
            while server.output.count("Started worker-") < workers:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"workers did not start:\n{server.output}")
                time.sleep(0.1)
        except BaseException:
            proc.kill()
            proc.wait(timeout=10)
            raise
        return server

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace"))

    def stop(self) -> str:
        """Ask for a graceful shutdown; return everything the server printed."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"staffroom serve ignored SIGTERM:\n{self.output}") from None
        if self.reader is not None:
            self.reader.join(timeout=10)
        return self.output
