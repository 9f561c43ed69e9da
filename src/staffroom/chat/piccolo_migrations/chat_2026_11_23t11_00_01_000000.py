"""The outbox's waiting rows by stream (conversation, target): the dispatcher skips a
stream whose head is waiting for a retry, so that stream cannot fill its batch and hold
back every other conversation. Partial: only rows still to relay are indexed."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T11:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox waiting rows by stream"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="chat", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            "CREATE INDEX chat_outbox_stream_idx ON chat_outbox (conversation, target, next_attempt_at)"
            " WHERE published_at IS NULL AND abandoned_at IS NULL"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX chat_outbox_stream_idx")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
