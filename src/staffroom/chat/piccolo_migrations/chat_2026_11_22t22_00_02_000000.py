"""Chat keys: one direct conversation per pair and org, one membership per person and
conversation, one seq per message in a conversation, one client_msg_id per sender and
conversation; the indexes of history, unread counting and the outbox."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T22:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "chat keys and indexes"

_INDEXES = [
    (
        "CREATE UNIQUE INDEX",
        "chat_conversation_org_direct_key",
        "chat_conversation",
        "org, direct_key",
    ),
    (
        "CREATE UNIQUE INDEX",
        "chat_member_conversation_user_key",
        "chat_member",
        'conversation, "user"',
    ),
    ("CREATE UNIQUE INDEX", "chat_message_conversation_seq_key", "chat_message", "conversation, seq"),
    (
        "CREATE UNIQUE INDEX",
        "chat_message_client_key",
        "chat_message",
        "conversation, sender, client_msg_id",
    ),
    ("CREATE INDEX", "chat_message_org_created_idx", "chat_message", "org, created_at"),
    ("CREATE INDEX", "chat_outbox_pending_idx", "chat_outbox", "published_at, created_at"),
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="chat", description=DESCRIPTION)

    async def run():
        for create, name, table, columns in _INDEXES:
            await RawTable.raw(f"{create} {name} ON {table} ({columns})")

    async def run_backwards():
        for _, name, _, _ in _INDEXES:
            await RawTable.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
