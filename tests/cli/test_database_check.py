"""Commands run outside the checkout or before `staffroom migrate`: one line saying so,
no traceback, and nothing created (no key file, no empty database, no folder)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

NEEDS_DATABASE = [
    ("org", "create", "--slug", "acme", "--name", "Acme", "--owner-email", "it@acme.example",
     "--owner-name", "Ida"),
    ("invite", "import", "{csv}", "--org", "acme", "--dry-run"),
    ("codes", "create", "--org", "acme", "--label", "x", "--count", "1", "--out", "{out}"),
    ("retention", "run"),
    ("audit", "verify"),
    ("audit", "export"),
    ("backup", "create"),
    ("relay", "status"),
    ("relay", "requeue"),
    ("serve",),
]  # fmt: skip


def _env(**extra: str) -> dict[str, str]:
    # As on a newcomer's machine: the embedded defaults, under the current folder.
    drop = {"STAFFROOM_DATA_DIR", "STAFFROOM_DATABASE_URL", "STAFFROOM_KEYS_FILE"}
    return {k: v for k, v in os.environ.items() if k not in drop} | extra


def _run(args: tuple[str, ...], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "staffroom", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def _args(args: tuple[str, ...], files: Path) -> tuple[str, ...]:
    return tuple(a.format(csv=files / "staff.csv", out=files / "codes.pdf") for a in args)


def test_commands_before_migrate_say_so_and_create_nothing(tmp_path: Path) -> None:
    cwd, files = tmp_path / "elsewhere", tmp_path / "files"
    cwd.mkdir()
    files.mkdir()
    (files / "staff.csv").write_text("email\nann@acme.example\n")
    expected = f"no database at {cwd / 'var' / 'staffroom.db'}, run `staffroom migrate`"
    for args in NEEDS_DATABASE:
        result = _run(_args(args, files), cwd, _env())
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout, args
        assert result.stderr.strip() == expected, args
        assert list(cwd.iterdir()) == [], args
        assert sorted(p.name for p in files.iterdir()) == ["staff.csv"], args
    # Once migrated, the same command works there.
    assert _run(("migrate",), cwd, _env()).returncode == 0
    created = _run(_args(NEEDS_DATABASE[0], files), cwd, _env())
    assert created.returncode == 0, created.stderr


async def test_a_postgres_database_never_migrated_is_named(
    tmp_path: Path,
) -> None:
    url = os.environ["STAFFROOM_DATABASE_URL"]
    if not url.startswith("postgresql://"):
        pytest.skip("the PostgreSQL run covers an empty PostgreSQL database")
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        fresh = url.rsplit("/", 1)[0] + f"/{name}"
        result = _run(("audit", "verify"), tmp_path, _env(STAFFROOM_DATABASE_URL=fresh))
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert "no database set up at 127.0.0.1:" in result.stderr
        assert f"/{name}, run `staffroom migrate`" in result.stderr
        assert list(tmp_path.iterdir()) == []
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()
