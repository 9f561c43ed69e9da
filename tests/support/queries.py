"""Counting the SQL statements a request issues (query-count tests, not timings)."""

from __future__ import annotations

from typing import Any

import pytest


def count_queries(monkeypatch: pytest.MonkeyPatch, table: Any) -> list[str]:
    """From now on, every statement run through the table's engine is appended to the list."""
    engine_type = type(table._meta.db)
    original = engine_type.run_querystring
    counted: list[str] = []

    async def counting(self, querystring, *args, **kwargs):  # type: ignore[no-untyped-def]
        counted.append(str(querystring)[:60])
        return await original(self, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_type, "run_querystring", counting)
    return counted
