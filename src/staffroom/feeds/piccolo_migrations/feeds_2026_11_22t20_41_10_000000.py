"""Feeds keys: one read, one acknowledgement and one of each emoji per person and post;
the timeline's index (channel, publish time)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T20:41:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "feeds keys and timeline index"

_INDEXES = [
    ("CREATE UNIQUE INDEX", "post_read_post_user_key", "post_read", '"post", "user"'),
    ("CREATE UNIQUE INDEX", "post_ack_post_user_key", "post_ack", '"post", "user"'),
    (
        "CREATE UNIQUE INDEX",
        "post_reaction_post_user_emoji_key",
        "post_reaction",
        '"post", "user", emoji',
    ),
    (
        "CREATE UNIQUE INDEX",
        "channel_group_channel_group_role_key",
        "channel_group",
        'channel, "group", role',
    ),
    ("CREATE INDEX", "post_channel_publish_at_idx", "post", "channel, publish_at, id"),
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="feeds", description=DESCRIPTION)

    async def run():
        for create, name, table, columns in _INDEXES:
            await RawTable.raw(f"{create} {name} ON {table} ({columns})")

    async def run_backwards():
        for _, name, _, _ in _INDEXES:
            await RawTable.raw(f"DROP INDEX {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
