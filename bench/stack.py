"""Everything `make load`, `make faults` and `make bench` run against, on 127.0.0.1:
PostgreSQL 15, Redis, an SMTP server (aiosmtpd), moto (S3) behind a gate that can refuse
connections without losing moto's state, the PubNub stand-in, and `staffroom serve`.

Each dependency can be taken down and brought back on the same port, which is what the
fault runs do. The servers are the ones the tests use (tests/support).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any, TypeVar

from tests.support.gate import Gate, Loop
from tests.support.pubnub_standin import PubNubStandIn
from tests.support.serve import ServeProcess
from tests.support.servers import PG_BIN, PostgresServer, RedisServer, _as_postgres, free_port

T = TypeVar("T")


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) keeping what it receives; stop/start keep the port."""

    port: int = field(default_factory=free_port)
    received: list[dict[str, str]] = field(default_factory=list)
    controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content)
        parts = [msg] if not msg.is_multipart() else list(msg.walk())
        text = "\n".join(
            p.get_payload(decode=True).decode(errors="replace")
            for p in parts
            if p.get_content_type() == "text/plain"
        )
        self.received.append({"to": ",".join(envelope.rcpt_tos), "text": text})
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class Postgres:
    """The tests' throw-away cluster, plus stop and start that keep its data (an outage)."""

    server: PostgresServer

    @property
    def url(self) -> str:
        return self.server.url

    def _ctl(self, *args: str) -> None:
        data = str(self.server.root / "data")
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), *args, "-D", data]),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def down(self) -> None:
        self._ctl("stop", "-m", "fast", "-w")

    def up(self) -> None:
        # Back with the settings it started with (it came back with bigger buffers before).
        opts = self.server.options(self.server.port, self.server.root)
        self._ctl("start", "-w", "-o", opts, "-l", str(self.server.root / "log"))


@dataclass
class Redis:
    """redis-server; down and up on the same port (its counters are lost, as in a crash)."""

    server: RedisServer

    @property
    def url(self) -> str:
        return self.server.url

    def down(self) -> None:
        self.server.proc.kill()
        self.server.proc.wait(timeout=10)

    def up(self) -> None:
        binary = shutil.which("redis-server") or "redis-server"
        args = ["--port", str(self.server.port), "--bind", "127.0.0.1", "--save", ""]
        self.server.proc = subprocess.Popen(
            [binary, *args, "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3)


PUBNUB_KEYS = {"publish_key": "pub-c-bench", "subscribe_key": "sub-c-bench", "secret_key": "sec-c"}


@dataclass
class Stack:
    root: Path
    pg: Postgres
    redis: Redis
    smtp: SmtpSink
    moto: Any
    s3_gate: Gate
    pubnub: PubNubStandIn
    loop: Loop
    env: dict[str, str]
    serve: ServeProcess | None = None

    @classmethod
    def start(cls, *, bcrypt_rounds: int = 10) -> Stack:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log

        root = Path(tempfile.mkdtemp(prefix="staffroom-bench-"))
        pg = Postgres(PostgresServer.start())
        pg.down()
        pg.up()  # again with the bench's memory settings
        redis = Redis(RedisServer.start())
        smtp = SmtpSink()
        smtp.start()
        moto_port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        loop = Loop()
        gate = Gate(loop, moto_port)
        gate.open()
        pubnub = PubNubStandIn(**PUBNUB_KEYS)
        loop.run(pubnub.start())
        env = {
            "STAFFROOM_ENV": "production",
            "STAFFROOM_DATA_DIR": str(root / "data"),
            "STAFFROOM_DATABASE_URL": pg.url,
            "STAFFROOM_DATABASE_POOL_MAX": "20",
            "STAFFROOM_REDIS_URL": redis.url,
            "STAFFROOM_PUBLIC_URL": "http://127.0.0.1",
            "STAFFROOM_BCRYPT_ROUNDS": str(bcrypt_rounds),
            "STAFFROOM_LOG_LEVEL": "INFO",
            # Simulated employees come through a proxy, each from an address of their own.
            "STAFFROOM_TRUSTED_PROXIES": "127.0.0.1",
            "STAFFROOM_MAIL_BACKEND": "smtp",
            "STAFFROOM_SMTP_HOST": "127.0.0.1",
            "STAFFROOM_SMTP_PORT": str(smtp.port),
            "STAFFROOM_SMTP_SECURITY": "none",
            "STAFFROOM_SMTP_TIMEOUT": "5",
            "STAFFROOM_MAIL_POLL_SECONDS": "1",
            "STAFFROOM_BLOB_BACKEND": "s3",
            "STAFFROOM_S3_BUCKET": "staffroom-bench",
            "STAFFROOM_S3_ENDPOINT_URL": f"http://127.0.0.1:{gate.port}",
            "STAFFROOM_PUBNUB_PUBLISH_KEY": PUBNUB_KEYS["publish_key"],
            "STAFFROOM_PUBNUB_SUBSCRIBE_KEY": PUBNUB_KEYS["subscribe_key"],
            "STAFFROOM_PUBNUB_SECRET_KEY": PUBNUB_KEYS["secret_key"],
            "STAFFROOM_PUBNUB_ORIGIN": pubnub.origin,
            "STAFFROOM_PUBNUB_SSL": "false",
            "STAFFROOM_RELAY_POLL_SECONDS": "1",
            "STAFFROOM_DNS_NAMESERVERS": "127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "eu-central-1",
        }
        os.environ.update(env)
        import boto3

        # moto keeps its buckets in this process, not in the server: a second stack in the
        # same run (`make capacity`'s next size) would find the first one's bucket.
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{moto_port}/moto-api/reset", method="POST")
        ).close()
        boto3.client(
            "s3", region_name="eu-central-1", endpoint_url=f"http://127.0.0.1:{moto_port}"
        ).create_bucket(
            Bucket="staffroom-bench",
            CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
        )
        stack = cls(root, pg, redis, smtp, moto, gate, pubnub, loop, env)
        stack.staffroom("migrate")
        return stack

    def staffroom(self, *args: str) -> str:
        """Run a `staffroom` command against this stack."""
        out = subprocess.run(
            [sys.executable, "-m", "staffroom", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if out.returncode != 0:
            raise RuntimeError(f"staffroom {' '.join(args)} failed:\n{out.stdout}{out.stderr}")
        return out.stdout

    def start_api(self, workers: int = 2, env: dict[str, str] | None = None) -> ServeProcess:
        self.serve = ServeProcess.start(workers=workers, env={**self.env, **(env or {})})
        return self.serve

    def cpu(self, server: ServeProcess | None = None) -> dict[str, float]:
        """CPU seconds used so far by the server (ours, or another such as a baseline),
        PostgreSQL, Redis and this process."""

        def used(pids: list[int]) -> float:
            ticks = 0
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    ticks += int(fields[11]) + int(fields[12])
                except (OSError, IndexError):
                    pass
            return ticks / os.sysconf("SC_CLK_TCK")

        def pgrep(*args: str) -> list[int]:
            out = subprocess.run(["pgrep", *args], capture_output=True, text=True, check=False)
            return [int(p) for p in out.stdout.split()]

        serving = server or self.serve
        pids = [serving.proc.pid, *pgrep("-P", str(serving.proc.pid))] if serving else []
        return {
            "server": used(pids),
            "postgres": used(pgrep("-u", "postgres") if os.geteuid() == 0 else pgrep("postgres")),
            "redis": used([self.redis.server.proc.pid]),
            "load generator and stand-ins": used([os.getpid()]),
        }

    def psql(self, sql: str) -> None:
        """Run one statement on the stack's database."""
        import asyncpg

        async def run() -> None:
            conn = await asyncpg.connect(self.pg.url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(run())

    def stop_api(self) -> str:
        output = self.serve.stop() if self.serve is not None else ""
        self.serve = None
        return output

    def pubnub_down(self) -> None:
        self.loop.run(self.pubnub.stop())

    def pubnub_up(self) -> None:
        self.loop.run(self.pubnub.start())

    def stop(self) -> None:
        if self.serve is not None:
            self.serve.kill_all()
        for step in (
            lambda: self.loop.run(self.pubnub.stop()),
            self.s3_gate.close,
            self.moto.stop,
            self.smtp.stop,
            self.redis.server.stop,
            self.pg.server.stop,
        ):
            try:
                step()
            except Exception:  # noqa: BLE001 (every teardown step runs, whatever one raised)
                pass
        shutil.rmtree(self.root, ignore_errors=True)
