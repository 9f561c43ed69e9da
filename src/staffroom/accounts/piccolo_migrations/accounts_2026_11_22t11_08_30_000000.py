"""Composite unique keys, as unique indexes: SQLite cannot add table constraints later."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T11:08:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys"

_INDEXES = [
    ("app_user_org_email_key", "app_user", "org, email"),
    ("app_user_org_username_key", "app_user", "org, username"),
    ("custom_role_org_key_key", "custom_role", "org, key"),
    ("user_group_org_name_key", "user_group", "org, name"),
    ("group_member_group_user_key", "group_member", '"group", "user"'),
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)

    async def run():
        for name, table, columns in _INDEXES:
            await RawTable.raw(f"CREATE UNIQUE INDEX {name} ON {table} ({columns})")

    async def run_backwards():
        for name, _, _ in _INDEXES:
            await RawTable.raw(f"DROP INDEX {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
