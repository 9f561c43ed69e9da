"""The kept unread counts' statements (service/tallies.py), written by hand: `{}` marks a
parameter (either engine); only placeholders and constants are pasted in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from staffroom.core.db.sql import in_list

# Posts settled (or deleted by retention) per transaction.
BATCH = 500
LIVE = "deleted_at IS NULL AND publish_at <= {} AND (expires_at IS NULL OR expires_at > {})"
# PostgreSQL: one statement, waiting on a change of the post in progress (FOR SHARE).
READ_PG = (
    "WITH p AS (SELECT id, org, channel, counted FROM post WHERE id = {} FOR SHARE),"
    ' ins AS (INSERT INTO post_read (id, org, post, "user", read_at)'
    " SELECT {}, p.org, p.id, {}, {} FROM p"
    ' ON CONFLICT (post, "user") DO NOTHING RETURNING post)'
    ' INSERT INTO feed_read_tally (org, "user", channel, reads)'
    " SELECT p.org, {}, p.channel, 1 FROM ins JOIN p ON p.id = ins.post WHERE p.counted"
    ' ON CONFLICT ("user", channel) DO UPDATE SET reads = feed_read_tally.reads + 1'
)
READ_SQLITE = (
    'INSERT INTO post_read (id, org, post, "user", read_at) VALUES ({}, {}, {}, {}, {})'
    ' ON CONFLICT (post, "user") DO NOTHING RETURNING post'
)
READ_COUNT_SQLITE = (
    'INSERT INTO feed_read_tally (org, "user", channel, reads)'
    " SELECT org, {}, channel, 1 FROM post WHERE id = {} AND counted"
    ' ON CONFLICT ("user", channel) DO UPDATE SET reads = feed_read_tally.reads + 1'
)


def readers(post_ids: list[uuid.UUID]) -> str:
    """Add {} times each person's reads of these posts to their counts, per channel."""
    return (
        'INSERT INTO feed_read_tally (org, "user", channel, reads)'
        ' SELECT p.org, r."user", p.channel, {} * COUNT(*) FROM post_read r'
        f" JOIN post p ON p.id = r.post WHERE r.post IN ({in_list(post_ids)})"
        ' GROUP BY p.org, r."user", p.channel ON CONFLICT ("user", channel)'
        " DO UPDATE SET reads = feed_read_tally.reads + excluded.reads"
    )


def flip(post_ids: list[uuid.UUID], counted: bool, condition: str) -> str:
    """Mark these posts counted (or not) where they are not yet and `condition` holds;
    returns the ids and channels of those changed."""
    return (
        f"UPDATE post SET counted = {'TRUE' if counted else 'FALSE'}"
        f" WHERE id IN ({in_list(post_ids)}) AND {'NOT ' if counted else ''}counted"
        f" AND {condition} RETURNING id, channel"
    )


CHANNEL = "UPDATE channel SET posts_counted = posts_counted + {} WHERE id = {}"
DUE = f"SELECT id FROM post WHERE NOT counted AND {LIVE} LIMIT {{}}"
EXPIRED = "SELECT id FROM post WHERE counted AND expires_at <= {} LIMIT {}"
OLDER = "SELECT id FROM post WHERE org = {} AND publish_at < {} LIMIT {}"


def delete(post_ids: list[uuid.UUID]) -> str:
    """Delete these posts."""
    return f"DELETE FROM post WHERE id IN ({in_list(post_ids)})"


REBUILD = [
    f"UPDATE post SET counted = ({LIVE})",
    "UPDATE channel SET posts_counted ="
    " (SELECT COUNT(*) FROM post p WHERE p.channel = channel.id AND p.counted)",
    "DELETE FROM feed_read_tally",
    'INSERT INTO feed_read_tally (org, "user", channel, reads)'
    ' SELECT p.org, r."user", p.channel, COUNT(*) FROM post_read r'
    ' JOIN post p ON p.id = r.post WHERE p.counted GROUP BY p.org, r."user", p.channel',
]


def rebuild_args(statement: str, now: datetime) -> list[Any]:
    """The arguments of one REBUILD statement."""
    return [now, now] if "{}" in statement else []
