from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T08:24:03:298762"
VERSION = "1.38.0"
DESCRIPTION = "SSO doctor: unsigned attempts kept apart"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="sso", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="SsoAttempt",
        tablename="sso_attempt",
        column_name="signed",
        db_column_name="signed",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": True,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
