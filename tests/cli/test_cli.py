"""The `staffroom` command, run as a real process against the test database."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from staffroom import cli as cli_package
from staffroom.accounts.tables import Org, User
from staffroom.chat.tables import Outbox
from staffroom.core import clock
from tests.support.certs import self_signed
from tests.support.flows import token_from_link
from tests.support.serve import ServeProcess, wait_for
from tests.support.world import assert_problem, login


def staffroom(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "staffroom", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def test_every_command_is_registered_and_no_command_module_imports_the_package() -> None:
    result = staffroom("--help")
    assert result.returncode == 0, result.stderr
    for command in (
        "audit", "backup", "codes", "invite", "keys", "migrate", "org", "relay", "retention",
        "serve",
    ):  # fmt: skip
        assert f"  {command} " in result.stdout
    # The package registers the modules; a module importing it back would be a cycle.
    for module in Path(cli_package.__file__).parent.glob("*.py"):
        if module.name != "__init__.py":
            assert "from staffroom.cli import" not in module.read_text(), module.name


async def test_org_create_prints_a_setup_link_the_owner_can_use(client) -> None:
    result = staffroom(
        "org", "create", "--slug", "acme", "--name", "Acme", "--owner-email", "IT@Acme.Example",
        "--owner-name", "Ida Owner",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip().splitlines()[-1]
    assert "#token=" in link
    owner = await User.select().where(User.email == "it@acme.example").first()
    assert owner["role"] == "owner" and owner["password_hash"] is None
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": "it@acme.example", "password": "anything-at-all"},
    )
    assert_problem(r, 401)
    token = token_from_link(link)
    r = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "Granite-Sunrise-Velvet-3"},
    )
    assert r.status_code == 204, r.text
    body = await login(client, "acme", "it@acme.example", "Granite-Sunrise-Velvet-3")
    me = (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    ).json()
    assert me["role"] == "owner" and me["email_verified"] is True
    r = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "Another-Sunrise-Velvet-4"},
    )
    assert_problem(r, 401, "invalid_token")


async def test_org_create_refuses_duplicates_and_bad_input() -> None:
    def create(slug: str, name: str, email: str, *owner: str) -> Any:
        args = ("--slug", slug, "--name", name, "--owner-email", email, *owner)
        return staffroom("org", "create", *args)

    assert create("acme", "Acme", "it@acme.example", "--owner-name", "Ida").returncode == 0
    dup = create("acme", "Other", "x@other.example", "--owner-name", "Ida")
    assert dup.returncode == 2 and "org_exists" in dup.stderr
    bad = create("Not A Slug!", "X", "x@y.example", "--owner-name", "Ida")
    assert bad.returncode == 2 and "invalid_slug" in bad.stderr
    mail = create("beta", "Beta", "nope", "--owner-name", "Ida")
    assert mail.returncode == 2 and "invalid_email" in mail.stderr
    # The owner's name signs their invitations ("Ida invites you to join …"): required.
    nameless = create("gamma", "Gamma", "it@gamma.example")
    assert nameless.returncode == 2 and "Missing option '--owner-name'" in nameless.stderr
    blank = create("gamma", "Gamma", "it@gamma.example", "--owner-name", "  ")
    assert blank.returncode == 2 and "cannot be empty" in blank.stderr
    assert await Org.count() == 1


def test_migrate_is_idempotent() -> None:
    first = staffroom("migrate")
    assert first.returncode == 0, first.stderr
    assert "up to date" in first.stderr


@pytest.mark.one_database("sqlite")
@pytest.mark.parametrize("tls", [False, True])
def test_serve_answers_with_tls12_as_the_floor(tmp_path: Path, tls: bool) -> None:
    args: list[str] = []
    context = None
    if tls:
        cert, key = self_signed(tmp_path, "127.0.0.1")
        args += ["--tls-cert", str(cert), "--tls-key", str(key)]
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
    # Two workers without Redis: allowed explicitly (serve refuses them otherwise).
    server = ServeProcess.start(*args, "--allow-without-redis", workers=2, tls=tls, context=context)
    try:
        url = f"{server.base}/health/live"
        assert wait_for(url, context) == b'{"status":"ok"}'
        if tls:
            # A TLS 1.2-only client gets in: the floor is 1.2 (granian's own default is 1.3).
            tls12 = ssl.create_default_context(cafile=str(cert))
            tls12.check_hostname = False
            tls12.maximum_version = ssl.TLSVersion.TLSv1_2
            assert wait_for(url, tls12) == b'{"status":"ok"}'
    finally:
        out = server.stop()
    assert "/schema" in out  # the banner tells where the API docs are


@pytest.mark.one_database("sqlite")
def test_serve_stops_even_when_a_worker_cannot() -> None:
    """A worker that does not stop on SIGTERM (here: frozen with SIGSTOP) is killed after
    the grace period, so stopping the server, and a deploy's restart, never hangs."""
    from staffroom.cli.server import SHUTDOWN_GRACE_SECONDS

    server = ServeProcess.start("--allow-without-redis", workers=2)
    found = subprocess.run(
        ["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True, check=False
    )
    workers = [int(pid) for pid in found.stdout.split()]
    assert len(workers) == 2
    os.kill(workers[-1], signal.SIGSTOP)
    started = time.monotonic()
    out = server.stop()  # fails the test if the server is still up 30 s after SIGTERM
    assert time.monotonic() - started >= SHUTDOWN_GRACE_SECONDS - 1
    assert "refused to gracefully stop" in out
    assert server.proc.returncode is not None


async def test_relay_status_shows_what_was_given_up_and_requeue_sends_it_again(world) -> None:
    now = clock.utcnow()

    def event(**extra: Any) -> Outbox:
        return Outbox(
            id=uuid.uuid4(),
            org=world.acme.id,
            position=1,
            target=extra.pop("target", "socket"),
            event="message.created",
            data={},
            next_attempt_at=now,
            created_at=now - timedelta(days=3),
            **extra,
        )

    recent = event(abandoned_at=now - timedelta(hours=2), last_error="ValueError: cannot encode")
    old = event(target="pubnub", abandoned_at=now - timedelta(days=3), last_error="RelayRejected")
    await Outbox.insert(event(), recent, old)
    result = staffroom("relay", "status")
    assert result.returncode == 0, result.stderr
    assert "ValueError" in result.stderr and "RelayRejected" in result.stderr
    result = staffroom("relay", "requeue")  # the last 24 hours
    assert result.returncode == 0 and "1 events" in result.stderr, result.stderr
    again = await Outbox.select().where(Outbox.id == recent.id).first()
    assert again["abandoned_at"] is None and again["attempts"] == 0 and again["last_error"] == ""
    still = await Outbox.select().where(Outbox.id == old.id).first()
    assert still["abandoned_at"] is not None
    assert staffroom("relay", "requeue", "--hours", "0").returncode == 2


@pytest.mark.parametrize("columns", ["80", "60"])
async def test_backup_list_never_cuts_the_id_verify_and_restore_need(rt, columns: str) -> None:
    from staffroom.compliance.service import backups

    info = await backups.create(rt)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "staffroom", "backup", "list"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": columns},
        )
    finally:
        for key in await rt.archive.keys(backups.PREFIX):
            await rt.archive.remove(key)
    assert result.returncode == 0, result.stderr
    assert info.id in result.stderr, result.stderr
