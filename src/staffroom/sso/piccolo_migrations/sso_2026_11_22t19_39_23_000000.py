"""Composite unique keys of SSO, as unique indexes (SQLite cannot add constraints)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T19:39:23:000000"
VERSION = "1.38.0"
DESCRIPTION = "one identity per NameID, one acceptance per assertion"

_INDEXES = [
    ("sso_identity_idp_name_id_key", "sso_identity", "idp, name_id"),
    ("saml_seen_assertion_idp_assertion_key", "saml_seen_assertion", "idp, assertion_id"),
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sso", description=DESCRIPTION)

    async def run():
        for name, table, columns in _INDEXES:
            await RawTable.raw(f"CREATE UNIQUE INDEX {name} ON {table} ({columns})")

    async def run_backwards():
        for name, _, _ in _INDEXES:
            await RawTable.raw(f"DROP INDEX {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
