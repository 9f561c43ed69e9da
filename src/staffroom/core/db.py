"""Database helpers shared by every domain: engine choice, constraint errors, cursors."""

from __future__ import annotations

import base64
import functools
import json
import sqlite3
import string
import uuid
from collections.abc import Awaitable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from piccolo.columns import JSON, JSONB
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

from staffroom.core.errors import Invalid


def engine_for(url: str) -> Engine:
    """Build the Piccolo engine for a database URL (sqlite:///path or postgresql://…)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path))
    if url.startswith(("postgresql://", "postgres://")):
        return SharedPoolEngine(config={"dsn": url})
    raise SystemExit(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def as_uuid(value: Any) -> uuid.UUID:
    """A UUID from a hand-written query: asyncpg returns UUIDs; SQLite returns text where
    it cannot see the column's declared type."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def in_list(values: list[Any]) -> str:
    """`{}` placeholders for an IN list (never empty: callers check)."""
    return ", ".join("{}" for _ in values)


# Bounded: bulk inserts and IN lists make a statement per row or list count.
@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> str:
    """A statement's `{}` placeholders as PostgreSQL's $1, $2, … (parsed as Piccolo's
    raw() parses them: `{{` and `}}` are literal braces)."""
    out: list[str] = []
    n = 0
    for literal, field, _, _ in string.Formatter().parse(sql):
        out.append(literal)
        if field is not None:
            n += 1
            out.append(f"${n}")
    return "".join(out)


async def _pg_fetch(engine: PostgresEngine, text: str, args: Sequence[Any]) -> list[Any]:
    """Run a statement on the current transaction's connection, else a pooled one."""
    transaction = engine.current_transaction.get()
    if transaction is not None:
        return list(await transaction.connection.fetch(text, *args))
    assert engine.pool is not None  # fetch() comes here only with the pool open
    async with engine.pool.acquire() as connection:
        return list(await connection.fetch(text, *args))


async def fetch(table: type[Table], sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of a hand-written statement (`{}` placeholders), as `table.raw(sql, *args)`
    gives them. On PostgreSQL it goes straight to asyncpg on the same pool and
    transaction: Piccolo's query object around a raw statement (building and compiling
    a QueryString, then copying rows) cost a worker ~0.2 ms of Python per statement, as
    much as the statement itself on the hot paths that run four or five."""
    engine = table._meta.db
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        return [dict(r) for r in await _pg_fetch(engine, numbered(sql), args)]
    rows: list[dict[str, Any]] = await table.raw(sql, *args)
    return rows


@functools.cache
def _insert_shape(table: type[Table]) -> tuple[tuple[str, ...], frozenset[str], str, str]:
    """A table's column attributes, its JSON ones, the INSERT's column list and one row's
    placeholders: the same for every insert into it (a send makes two)."""
    columns = table._meta.columns
    names = tuple(c._meta.name for c in columns)
    as_json = frozenset(c._meta.name for c in columns if isinstance(c, JSON | JSONB))
    listed = ", ".join(f'"{c._meta.db_column_name}"' for c in columns)
    return names, as_json, listed, "(" + ", ".join("{}" for _ in columns) + ")"


async def bulk_insert(table: type[Table], rows: Sequence[Table]) -> None:
    """Insert many rows in one hand-written statement. Piccolo builds a bulk INSERT value
    by value in Python, seconds of a worker for an import; this binds the same values."""
    if not rows:
        return
    names, as_json, listed, one = _insert_shape(table)
    args: list[Any] = []
    for row in rows:
        for name in names:
            value = getattr(row, name)
            if name in as_json and not isinstance(value, str):
                value = json.dumps(value)
            args.append(value)
    tuples = ", ".join([one] * len(rows))
    sql = f"INSERT INTO {table._meta.tablename} ({listed}) VALUES {tuples}"  # noqa: S608 (names)
    await fetch(table, sql, *args)


def is_unique_violation(exc: BaseException) -> bool:
    """True when the error is a unique-constraint violation on either engine."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc)
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg ships with the postgres extra
        return False
    return isinstance(exc, asyncpg.UniqueViolationError)


def outage_errors() -> tuple[type[Exception], ...]:
    """Errors meaning the database (or another server) cannot be reached right now: a lost
    or refused connection, a server shutting down or starting up, a pool that timed out.
    The API answers them with a 503 and Retry-After; the client's write did not happen."""
    import asyncpg

    return (
        ConnectionError,
        TimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.OperatorInterventionError,
    )


class SharedPoolEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine, counting the apps that use its pool. Piccolo binds
    every table to one engine (and so one pool) at import: apps in one process (the tests
    make several) share it, and the last one to leave closes it. Each app's runtime joins
    and leaves once (`Runtime.start`, `Runtime.close`)."""

    __slots__ = ("pool_users",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool_users = 0


class BrokenConnection(ConnectionError):
    """A pooled connection whose protocol state broke (an outage is a ConnectionError)."""


def _guarded_connection_class() -> type:
    """asyncpg's connection, closed for good when its protocol state breaks. A session the
    server terminates mid-operation (PostgreSQL stopping, a killed backend) can leave
    asyncpg's protocol believing an operation is still in progress; with our no-op reset
    on release, nothing else would notice, and the pool would hand that connection out
    again and again ("cannot switch to state …; another operation is in progress", seen as
    500s in the fault run). Closed, the pool replaces it; the request gets a 503."""
    import asyncpg

    class GuardedConnection(asyncpg.Connection):
        async def _guarded(self, operation: Awaitable[Any]) -> Any:
            try:
                return await operation
            except asyncpg.exceptions.InternalClientError as exc:
                self.terminate()
                raise BrokenConnection(str(exc)) from exc

        async def fetch(self, *args: Any, **kwargs: Any) -> Any:
            return await self._guarded(super().fetch(*args, **kwargs))

        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            return await self._guarded(super().execute(*args, **kwargs))

    return GuardedConnection


async def _keep_session(_: Any) -> None:
    """Piccolo takes a pooled connection per query; asyncpg's default reset on release
    (unlock advisory locks, CLOSE ALL, UNLISTEN, RESET ALL) is one more round trip each
    time for session state this code never sets. asyncpg still rolls back an open
    transaction before calling this."""


async def start_pool(engine: Engine, max_size: int) -> None:
    """Open the PostgreSQL pool, or join the one already open (SQLite has none)."""
    if not isinstance(engine, PostgresEngine):
        return
    if not isinstance(engine, SharedPoolEngine):
        raise TypeError("the engine must come from engine_for")
    if engine.pool_users == 0:
        await engine.start_connection_pool(
            max_size=max_size, reset=_keep_session, connection_class=_guarded_connection_class()
        )
    engine.pool_users += 1


async def close_pool(engine: Engine) -> None:
    """Leave the PostgreSQL pool; the last user closes it."""
    if not isinstance(engine, PostgresEngine):
        return
    if not isinstance(engine, SharedPoolEngine):
        raise TypeError("the engine must come from engine_for")
    engine.pool_users = max(engine.pool_users - 1, 0)
    if engine.pool_users == 0 and engine.pool is not None:
        await engine.close_connection_pool()


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    """An opaque keyset cursor for lists ordered by (created_at, id) descending."""
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Parse a cursor made by encode_cursor; garbage is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, row_id = json.loads(raw)
        return datetime.fromisoformat(stamp), uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise Invalid("invalid_cursor", "The cursor is not valid.") from exc


def page_filter(table: Any, cursor: str | None) -> Any:
    """The WHERE clause that continues a (created_at, id) descending list after cursor."""
    if not cursor:
        return None
    stamp, row_id = decode_cursor(cursor)
    return (table.created_at < stamp) | ((table.created_at == stamp) & (table.id < row_id))


def page_of(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Split rows fetched with limit + 1 into the page and the cursor of the next one."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"])


def icontains(column: Any, text: str) -> Any:
    """Case-insensitive substring match (LIKE is already case-insensitive on SQLite)."""
    pattern = "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"
    if isinstance(column._meta.table._meta.db, SQLiteEngine):
        return column.like(pattern)
    return column.ilike(pattern)
