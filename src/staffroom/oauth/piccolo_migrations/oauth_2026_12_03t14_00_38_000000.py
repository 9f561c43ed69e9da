"""Composite unique key of OAuth, as a unique index (SQLite cannot add constraints)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T14:00:38:000000"
VERSION = "1.38.0"
DESCRIPTION = "one remembered consent per person and client"

_INDEXES = [("oauth_consent_user_client_key", "oauth_consent", '"user", client')]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="oauth", description=DESCRIPTION)

    async def run():
        for name, table, columns in _INDEXES:
            await RawTable.raw(f"CREATE UNIQUE INDEX {name} ON {table} ({columns})")

    async def run_backwards():
        for name, _, _ in _INDEXES:
            await RawTable.raw(f"DROP INDEX {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
