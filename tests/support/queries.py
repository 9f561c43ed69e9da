"""Counting the SQL statements a request issues (query-count tests, not timings)."""

from __future__ import annotations

from typing import Any

import pytest

from staffroom.core.db import sql


def count_queries(monkeypatch: pytest.MonkeyPatch, table: Any) -> list[str]:
    """From now on, every statement run through the table's engine is appended to the list:
    Piccolo's queries and the hand-written ones `sql.fetch` sends straight to asyncpg."""
    engine_type = type(table._meta.db)
    original = engine_type.run_querystring
    original_pg = sql._pg_fetch
    counted: list[str] = []

    async def counting(self, querystring, *args, **kwargs):  # type: ignore[no-untyped-def]
        counted.append(str(querystring)[:60])
        return await original(self, querystring, *args, **kwargs)

    async def counting_pg(engine, text, args):  # type: ignore[no-untyped-def]
        counted.append(text[:60])
        return await original_pg(engine, text, args)

    monkeypatch.setattr(engine_type, "run_querystring", counting)
    monkeypatch.setattr(sql, "_pg_fetch", counting_pg)
    return counted
