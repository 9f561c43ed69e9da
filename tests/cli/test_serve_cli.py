"""`staffroom serve` for a newcomer: the links follow the port, a busy port is one line,
several workers without Redis are refused unless asked for."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from staffroom.settings import load_settings
from tests.support.flows import token_from_link
from tests.support.serve import ServeProcess
from tests.support.servers import free_port
from tests.support.world import World


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "staffroom", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_the_public_url_follows_the_port_unless_it_is_set() -> None:
    def url(**env: str) -> str:
        return load_settings(env, env_file=None).public_url

    assert url() == "http://127.0.0.1:8000"
    assert url(STAFFROOM_PORT="9000") == "http://127.0.0.1:9000"
    assert url(STAFFROOM_HOST="0.0.0.0", STAFFROOM_PORT="9000") == "http://127.0.0.1:9000"  # noqa: S104
    assert url(STAFFROOM_HOST="::", STAFFROOM_PORT="9000") == "http://[::1]:9000"
    assert url(STAFFROOM_PORT="9000", STAFFROOM_PUBLIC_URL="") == "http://127.0.0.1:9000"
    set_ = url(STAFFROOM_PORT="9000", STAFFROOM_PUBLIC_URL="https://staff.example")
    assert set_ == "https://staff.example"


async def test_printed_and_emailed_links_carry_the_port_served_on(world: World, settings) -> None:
    port = free_port()
    env = {"STAFFROOM_PUBLIC_URL": "", "STAFFROOM_PORT": str(port)}
    created = await asyncio.to_thread(
        _run,
        "org", "create", "--slug", "initech", "--name", "Initech",
        "--owner-email", "it@initech.example", "--owner-name", "Ida Owner",
        env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    link = created.stdout.strip().splitlines()[-1]
    assert link.startswith(f"http://127.0.0.1:{port}/setup#token=") and token_from_link(link)
    # `serve --port` alone (STAFFROOM_PORT unset): the mailed link follows it too.
    env = {"STAFFROOM_PUBLIC_URL": "", "STAFFROOM_MAIL_WORKER": "true"}
    server = await asyncio.to_thread(ServeProcess.start, env=env)
    outbox = Path(settings.data_dir) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    try:
        assert f"Staffroom on http://127.0.0.1:{server.port}" in server.output
        import httpx

        async with httpx.AsyncClient(base_url=server.base) as api:
            r = await api.post(
                "/api/v1/auth/password-reset",
                json={"org": "acme", "login": "member@acme.example"},
            )
            assert r.status_code == 202
        for _ in range(200):
            new = set(outbox.glob("*.eml")) - before
            if new:
                break
            await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(server.stop)
    (mail,) = new
    assert f"http://127.0.0.1:{server.port}/reset-password#token=" in mail.read_text()


def test_a_busy_port_is_said_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("serve", "--port", str(port), env={})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in line


def test_several_workers_without_redis_are_refused_unless_allowed() -> None:
    result = _run("serve", "--workers", "2", "--port", str(free_port()), env={})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "--workers 2 needs STAFFROOM_REDIS_URL" in line and "--allow-without-redis" in line
    assert "Traceback" not in result.stderr
    # Allowed explicitly, they start: tests/cli/test_cli.py serves two workers that way.
