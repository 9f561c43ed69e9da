"""Checks the `staffroom` commands make before touching anything: a command run outside the
checkout or before `staffroom migrate` says so in one line and creates nothing (no empty
SQLite file, no key file)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

from staffroom.settings import Settings

MIGRATE = "run `staffroom migrate`"


def _sqlite_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"no database at {path.resolve()}, {MIGRATE}"
    try:
        # Read-only: opening must not create or change the file.
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migration'"
            ).fetchone()
    except sqlite3.Error as exc:
        return f"the database at {path.resolve()} cannot be read ({exc})"
    if found is None:
        return f"no database set up at {path.resolve()}, {MIGRATE}"
    return None


async def _postgres_problem(url: str) -> str | None:
    import asyncpg

    parts = urlsplit(url)
    # Never the password: the line may end up in a log.
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"cannot reach the database at {where} ({type(exc).__name__}: {exc})"
    try:
        found = await conn.fetchval("SELECT to_regclass('migration')")
    finally:
        await conn.close()
    if found is None:
        return f"no database set up at {where}, {MIGRATE}"
    return None


def database_problem(settings: Settings) -> str | None:
    """Why the configured database cannot be used yet (missing, never migrated,
    unreachable), or None."""
    url = settings.effective_database_url
    if url.startswith("sqlite:///"):
        return _sqlite_problem(Path(url.removeprefix("sqlite:///")))
    return asyncio.run(_postgres_problem(url))


def require_database(settings: Settings) -> None:
    """End the command (exit 2, one line) when the database is not ready."""
    from staffroom.cli import console

    problem = database_problem(settings)
    if problem:
        console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
        sys.exit(2)
