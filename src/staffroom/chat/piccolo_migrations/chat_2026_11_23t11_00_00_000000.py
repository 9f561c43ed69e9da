"""Outbox rows the dispatcher gave up on (refused by the relay, or failing every try) are
marked abandoned instead of blocking their conversation's later events for ever."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox rows can be abandoned"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="chat", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Outbox",
        tablename="chat_outbox",
        column_name="abandoned_at",
        db_column_name="abandoned_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
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
