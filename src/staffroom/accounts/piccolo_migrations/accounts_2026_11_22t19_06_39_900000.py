"""An employee id is unique within an org (unique index: SQLite cannot add constraints)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T19:06:39:900000"
VERSION = "1.38.0"
DESCRIPTION = "unique employee id per org"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            "CREATE UNIQUE INDEX app_user_org_employee_id_key ON app_user (org, employee_id)"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX app_user_org_employee_id_key")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
