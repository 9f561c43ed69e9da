"""Consistent database snapshots and restores: SQLite's online backup API, or pg_dump /
pg_restore for PostgreSQL (row counts taken inside the very snapshot pg_dump uses)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from pathlib import Path

import asyncpg

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class RestoreRefused(Exception):
    """The target database is not empty (restores go into an empty database only)."""


def engine_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:///") else "postgres"


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _pg_tool(name: str) -> str:
    local = PG_BIN / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed (PostgreSQL client tools)")
    return found


def _sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        # Table names come from the catalog, not from any input.
        sql = 'SELECT COUNT(*) FROM "{}"'
        return {n: db.execute(sql.format(n)).fetchone()[0] for n in sorted(names)}


async def _pg_counts(conn: asyncpg.Connection) -> dict[str, int]:
    names = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    sql = 'SELECT COUNT(*) FROM "{}"'  # table names come from the catalog, not from input
    return {r["tablename"]: int(await conn.fetchval(sql.format(r["tablename"]))) for r in names}


async def dump(url: str, folder: Path) -> tuple[Path, dict[str, int]]:
    """Snapshot the database into folder; returns the file and its row counts per table."""
    if engine_of(url) == "sqlite":
        target = folder / "database.sqlite3"

        def _backup() -> dict[str, int]:
            with sqlite3.connect(_sqlite_path(url)) as src, sqlite3.connect(target) as dst:
                src.backup(dst)
            return _sqlite_counts(target)

        return target, await asyncio.to_thread(_backup)
    target = folder / "database.pgdump"
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            counts = await _pg_counts(conn)
            cmd = [
                _pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target}",
                f"--dbname={url}",
            ]
            await asyncio.to_thread(subprocess.run, cmd, check=True, capture_output=True)
    finally:
        await conn.close()
    return target, counts


async def counts(url: str) -> dict[str, int]:
    """Row counts per table of a live database."""
    if engine_of(url) == "sqlite":
        return await asyncio.to_thread(_sqlite_counts, _sqlite_path(url))
    conn = await asyncpg.connect(url)
    try:
        return await _pg_counts(conn)
    finally:
        await conn.close()


async def restore(url: str, snapshot: Path) -> None:
    """Load a snapshot into an empty database (refused if it has any table)."""
    if engine_of(url) == "sqlite":
        path = _sqlite_path(url)
        existing = await asyncio.to_thread(_sqlite_counts, path) if path.exists() else {}
        if existing:
            raise RestoreRefused(f"{path} is not empty")

        def _load() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(snapshot) as src, sqlite3.connect(path) as dst:
                src.backup(dst)

        await asyncio.to_thread(_load)
        return
    conn = await asyncpg.connect(url)
    try:
        if await _pg_counts(conn):
            raise RestoreRefused("the target database already has tables")
    finally:
        await conn.close()
    cmd = [
        _pg_tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={url}",
        str(snapshot),
    ]
    await asyncio.to_thread(subprocess.run, cmd, check=True, capture_output=True)


def check_snapshot(engine: str, snapshot: Path) -> None:
    """That a snapshot file is readable by its engine (blocking)."""
    if engine == "sqlite":
        with sqlite3.connect(snapshot) as db:
            (result,) = db.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise ValueError(f"sqlite integrity check: {result}")
        return
    tool = _pg_tool("pg_restore")
    subprocess.run([tool, "--list", str(snapshot)], check=True, capture_output=True)  # noqa: S603
