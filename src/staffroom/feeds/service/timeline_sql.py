"""The feed page's statements, written by hand: each feed page runs them, and Piccolo
spent ~15 ms of Python building its nine selects (mostly the IN lists of channels and
posts) against ~2 ms in PostgreSQL. `{}` marks a parameter (Piccolo's raw queries
compile it for either engine); the benchmark's raw-asyncpg baseline runs these same
statements.

Each builder returns (sql, args).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from staffroom.core.db.sql import in_list

Statement = tuple[str, list[Any]]


def visible_channels(org_id: uuid.UUID, user_id: uuid.UUID, *, every_channel: bool) -> Statement:
    """Live channels of the org the caller may read: all of them for moderators, else
    the all-company ones and those with one of the caller's groups as audience."""
    sql = "SELECT id FROM channel WHERE org = {} AND archived_at IS NULL"
    if every_channel:
        return sql, [org_id]
    # The caller's groups straight from accounts' group_member table, by design (an
    # exception to "domains read each other through services", docs/architecture.md,
    # Layers): this runs on every feed page, and asking `people.group_ids_of` first would
    # add a round trip to each, where the benchmark allows this one statement.
    sql += (
        " AND (audience = 'everyone' OR id IN (SELECT channel FROM channel_group"
        " WHERE org = {} AND role = 'audience' AND \"group\" IN"
        ' (SELECT "group" FROM group_member WHERE "user" = {} AND org = {})))'
    )
    return sql, [org_id, org_id, user_id, org_id]


def _live(
    org_id: uuid.UUID, channel_ids: list[uuid.UUID], now: datetime, *, scheduled: bool = False
) -> Statement:
    """Published and unexpired posts; with `scheduled`, those still to be published too."""
    sql = f"p.org = {{}} AND p.channel IN ({in_list(channel_ids)}) AND p.deleted_at IS NULL"
    args: list[Any] = [org_id, *channel_ids]
    if not scheduled:
        sql += " AND p.publish_at <= {}"
        args.append(now)
    return f"{sql} AND (p.expires_at IS NULL OR p.expires_at > {{}})", [*args, now]


# A post with what the reader sees beside it: its author's name (joined from accounts'
# app_user, as `visible_channels` reads group_member: one statement a page), its comments,
# whether the reader has read and acknowledged it.
_POST = (
    "SELECT p.*, u.display_name AS author_display_name,"
    " (SELECT COUNT(*) FROM post_comment c"
    " WHERE c.post = p.id AND c.deleted_at IS NULL) AS comment_count,"
    ' EXISTS (SELECT 1 FROM post_read r WHERE r.post = p.id AND r."user" = {}) AS is_read,'
    ' EXISTS (SELECT 1 FROM post_ack a WHERE a.post = p.id AND a."user" = {}) AS is_acked'
    " FROM post p LEFT JOIN app_user u ON u.id = p.author"
)
_NEWEST_FIRST = " ORDER BY p.pinned DESC, p.publish_at DESC, p.id DESC"


def page(
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    channel_ids: list[uuid.UUID],
    now: datetime,
    after: tuple[bool, datetime, uuid.UUID] | None,
    limit: int,
    *,
    scheduled: bool = False,
) -> Statement:
    """Live posts of these channels (and scheduled ones, for moderators), pinned first,
    newest first, after a cursor's post."""
    live, args = _live(org_id, channel_ids, now, scheduled=scheduled)
    sql = f"{_POST} WHERE {live}"
    if after is not None:
        pinned, at, post_id = after
        older = "(p.publish_at < {} OR (p.publish_at = {} AND p.id < {}))"
        # After a pinned post: older pinned ones, then every unpinned one.
        sql += f" AND (p.pinned = {{}} {'OR' if pinned else 'AND'} {older})"
        args += [False, at, at, post_id]
    return f"{sql}{_NEWEST_FIRST} LIMIT {{}}", [user_id, user_id, *args, limit]


def posts_by_id(user_id: uuid.UUID, post_ids: list[uuid.UUID]) -> Statement:
    """These posts with what the reader sees beside them (order not kept)."""
    return f"{_POST} WHERE p.id IN ({in_list(post_ids)})", [user_id, user_id, *post_ids]


def reactions(user_id: uuid.UUID, post_ids: list[uuid.UUID]) -> Statement:
    """Per post and emoji: how many reacted with it, and whether the reader did."""
    sql = (
        'SELECT post, emoji, COUNT(*) AS n, SUM(CASE WHEN "user" = {} THEN 1 ELSE 0 END)'
        f" AS mine FROM post_reaction WHERE post IN ({in_list(post_ids)}) GROUP BY post, emoji"
    )
    return sql, [user_id, *post_ids]


def unread(
    org_id: uuid.UUID, user_id: uuid.UUID, channel_ids: list[uuid.UUID], now: datetime, cap: int
) -> Statement:
    """Unread live posts per channel among the newest `cap` unread ones, by walking the
    timeline index: what feed pages ran before the counts were kept (issue 22). The
    reference the tests and `bench.unread_explain` hold the kept counts against."""
    live, args = _live(org_id, channel_ids, now)
    # Grouped straight from the capped walk: going back to the posts by id for their
    # channel cost 1,000 index look-ups a page.
    sql = (
        "SELECT channel, COUNT(*) AS n FROM (SELECT p.channel FROM post p"
        f' WHERE {live} AND p.id NOT IN (SELECT post FROM post_read WHERE "user" = {{}})'
        f"{_NEWEST_FIRST} LIMIT {{}}) newest GROUP BY channel"
    )
    return sql, [*args, user_id, cap]


# Posts whose time came since they were last settled (service/tallies.py): published since
# (+1) or expired since (-1), unread by the reader. Few: the scheduler settles them.
_UNSETTLED = (
    "SELECT p.channel, 1 AS n FROM post p WHERE p.org = {} AND NOT p.counted"
    " AND p.deleted_at IS NULL AND p.publish_at <= {} AND (p.expires_at IS NULL OR"
    " p.expires_at > {}) AND NOT EXISTS (SELECT 1 FROM post_read r WHERE r.post = p.id"
    ' AND r."user" = {})'
    " UNION ALL SELECT p.channel, -1 FROM post p WHERE p.org = {} AND p.counted"
    " AND p.expires_at <= {} AND NOT EXISTS (SELECT 1 FROM post_read r WHERE r.post = p.id"
    ' AND r."user" = {})'
)


def unread_kept(
    org_id: uuid.UUID, user_id: uuid.UUID, channel_ids: list[uuid.UUID], now: datetime, cap: int
) -> Statement:
    """Unread live posts per channel, each at most `cap`, from the kept counts: the
    channel's counted posts less those the reader read, corrected by the unsettled ones.
    One cheap statement whatever the reader has read or left unread (no timeline walk)."""
    listed = in_list(channel_ids)
    sql = (
        "SELECT channel, CASE WHEN SUM(n) > {} THEN {} ELSE SUM(n) END AS n FROM ("
        " SELECT c.id AS channel, c.posts_counted - COALESCE(t.reads, 0) AS n FROM channel c"
        ' LEFT JOIN feed_read_tally t ON t.channel = c.id AND t."user" = {}'
        f" WHERE c.id IN ({listed})"
        f" UNION ALL SELECT * FROM ({_UNSETTLED}) late WHERE late.channel IN ({listed})"
        ") counts GROUP BY channel HAVING SUM(n) > 0"
    )
    late = [org_id, now, now, user_id, org_id, now, user_id]
    return sql, [cap, cap, user_id, *channel_ids, *late, *channel_ids]
