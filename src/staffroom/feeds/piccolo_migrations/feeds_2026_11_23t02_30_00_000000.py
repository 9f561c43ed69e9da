"""The timeline's order as an index: an org's posts by (pinned, publish_at, id), read
backwards, so a feed page and the bounded unread count stop after the rows they need
instead of sorting every visible post (found by the benchmark at 200,000 posts)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "timeline order index"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="feeds", description=DESCRIPTION)

    async def run():
        await RawTable.raw(
            "CREATE INDEX post_org_timeline_idx ON post (org, pinned, publish_at, id)"
        )

    async def run_backwards():
        await RawTable.raw("DROP INDEX post_org_timeline_idx")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
