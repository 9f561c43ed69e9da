"""Kept unread counts (issue 22), filled for the posts and reads there are: each post says
whether it is counted (live when settled), each channel how many of its posts are, each
person per channel how many counted posts they read. One row per person and channel at
most; the two partial indexes find the few posts whose time has come (a scheduled post now
due, an expiry passed) before the scheduler settles them."""

from datetime import UTC, datetime

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T14:19:37:000000"
VERSION = "1.38.0"
DESCRIPTION = "kept unread counts: keys, partial indexes, backfill"

_BACKFILL = [
    "UPDATE post SET counted = (deleted_at IS NULL AND publish_at <= {}"
    " AND (expires_at IS NULL OR expires_at > {}))",
    "UPDATE channel SET posts_counted ="
    " (SELECT COUNT(*) FROM post p WHERE p.channel = channel.id AND p.counted)",
    'INSERT INTO feed_read_tally (org, "user", channel, reads)'
    ' SELECT p.org, r."user", p.channel, COUNT(*) FROM post_read r'
    " JOIN post p ON p.id = r.post WHERE p.counted"
    ' GROUP BY p.org, r."user", p.channel',
]
_INDEXES = [
    'CREATE UNIQUE INDEX feed_read_tally_user_channel_key ON feed_read_tally ("user", channel)',
    "CREATE INDEX post_uncounted_idx ON post (publish_at) WHERE NOT counted AND deleted_at IS NULL",
    "CREATE INDEX post_counted_expiry_idx ON post (expires_at)"
    " WHERE counted AND expires_at IS NOT NULL",
]
_DROP = [
    "DROP INDEX post_counted_expiry_idx",
    "DROP INDEX post_uncounted_idx",
    "DROP INDEX feed_read_tally_user_channel_key",
]


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="feeds", description=DESCRIPTION)

    async def run():
        now = datetime.now(UTC)
        await RawTable.raw(_BACKFILL[0], now, now)
        for statement in _BACKFILL[1:]:
            await RawTable.raw(statement)
        for statement in _INDEXES:
            await RawTable.raw(statement)

    async def run_backwards():
        for statement in _DROP:
            await RawTable.raw(statement)
        await RawTable.raw("DELETE FROM feed_read_tally")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
