"""Composite unique keys of onboarding, as unique indexes (SQLite cannot add constraints)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T19:09:18:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys of domains and access codes"

_INDEXES = [
    ("domain_binding_org_domain_key", "domain_binding", "org, domain"),
    ("access_code_batch_seq_key", "access_code", "batch, seq"),
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="onboarding", description=DESCRIPTION)

    async def run():
        for name, table, columns in _INDEXES:
            await RawTable.raw(f"CREATE UNIQUE INDEX {name} ON {table} ({columns})")

    async def run_backwards():
        for name, _, _ in _INDEXES:
            await RawTable.raw(f"DROP INDEX {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
