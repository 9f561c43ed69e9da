"""Emptying every table between tests."""

from __future__ import annotations

from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import Finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import sort_table_classes


async def truncate_all() -> None:
    tables = sort_table_classes(Finder().get_table_classes())
    tables = [t for t in tables if t is not Migration]
    engine = tables[0]._meta.db
    if isinstance(engine, PostgresEngine):
        names = ", ".join(t._meta.get_formatted_tablename() for t in tables)
        await tables[0].raw(f"TRUNCATE {names} CASCADE")
        return
    # SQLite: one transaction, so one commit (one journal fsync) per test rather than one
    # per table: sixty of them were a large share of a small test's time.
    async with engine.transaction():
        for table in reversed(tables):
            await table.delete(force=True)
