"""Messages by attachment: every read of a file asks which conversations hold it (media
access), which without this index scans the org's messages. Partial: most messages
carry no file."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-01T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "messages by attachment"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="chat", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            "CREATE INDEX chat_message_attachment_idx ON chat_message (attachment_id)"
            " WHERE attachment_id IS NOT NULL"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX chat_message_attachment_idx")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
