"""Hand-written SQL: the one module that runs it and that touches Piccolo's internals
(`Table._meta`, `raw()`, the engine behind a table). Everything else uses Piccolo's query
builder, or these functions (`tests/core/test_db.py` checks it)."""

from __future__ import annotations

import functools
import json
import string
import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from piccolo.columns import JSON, JSONB, Column
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table


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


def icontains(column: Any, text: str) -> Any:
    """Case-insensitive substring match (LIKE is already case-insensitive on SQLite)."""
    pattern = "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"
    if isinstance(column._meta.table._meta.db, SQLiteEngine):
        return column.like(pattern)
    return column.ilike(pattern)


def table_name(table: type[Table]) -> str:
    """A table's name in the database (for statements written by hand)."""
    return table._meta.tablename


def engine_of(table: type[Table]) -> Engine[Any]:
    """The engine a table is bound to (one for every table: piccolo_conf.DB)."""
    return table._meta.db


def transaction(table: type[Table]) -> AbstractAsyncContextManager[Any, None]:
    """A transaction on the engine of `table` (`async with transaction(Post): …`); it
    rolls back on an error and lets the error through."""
    tx: AbstractAsyncContextManager[Any, None] = table._meta.db.transaction()
    return tx


def on_postgres(table: type[Table]) -> bool:
    """Whether `table` lives in PostgreSQL (for the few statements that differ)."""
    return isinstance(table._meta.db, PostgresEngine)


def write_transaction(table: type[Table]) -> AbstractAsyncContextManager[Any, None]:
    """A transaction that writes: on SQLite it takes the write lock at once (BEGIN
    IMMEDIATE), so that two cannot both read and then fail to write."""
    if not isinstance(table._meta.db, SQLiteEngine):
        return transaction(table)
    engine: Any = table._meta.db
    tx: AbstractAsyncContextManager[Any, None] = engine.transaction(
        transaction_type=TransactionType.immediate
    )
    return tx


def column_name(column: Column) -> str:
    """A column's attribute name on its table."""
    return column._meta.name
