"""Kept unread counts (issue 22): a feed page reads them instead of walking the timeline.

Unread live posts of channel C for person U = the posts of C counted as live
(`channel.posts_counted`) less the counted posts of C that U read (`feed_read_tally`), plus
the posts whose time came since they were last settled (`timeline_sql.unread_kept`). Kept
here, and only here:

- `post.counted` says whether a post is in the counts: live (not deleted, published, not
  expired) when it was last settled. It changes with an edit or a delete (in its
  transaction, `recount`), when its time comes (a new post or a scheduled one published,
  an expiry passed: `settle`, every scheduler round; creating a post writes nothing else)
  and before retention deletes it (`delete_before`); each change moves the channel's count
  and the count of every reader of that post (`_flip`), under the post's row lock;
- a first read of a post adds one to the reader's count for its channel if the post is
  counted, in the statement (PostgreSQL) or transaction (SQLite) that stores the read,
  which waits for a change of that post in progress (`record_read`).

Settling a published post writes one channel row, whatever the audience (no per-person
rows); an audience change writes nothing: counts are per channel, and which channels a person sees
is asked on each page. `rebuild` recomputes everything from the posts and reads (the
migration's backfill, the benchmark's seed, a repair).
"""

from __future__ import annotations

import uuid
from collections import Counter
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from staffroom.core import clock
from staffroom.core.db.sql import fetch, on_postgres, write_transaction
from staffroom.feeds.service import tallies_sql as sql
from staffroom.feeds.tables import Post

NOT_LIVE = f"NOT ({sql.LIVE})"


def _on_postgres() -> bool:
    return on_postgres(Post)


def transaction() -> AbstractAsyncContextManager[Any, None]:
    """A transaction that writes (on SQLite taking the write lock at once, so that two
    cannot both read and then fail to write)."""
    return write_transaction(Post)


async def _flip(
    post_ids: list[uuid.UUID], counted: bool, condition: str = "TRUE", *args: Any
) -> int:
    """Count (or stop counting) these posts where `condition` holds, moving the channels'
    and their readers' counts with them. Runs in the caller's transaction; the UPDATE
    locks the posts' rows, so a read of one of them waits for the commit."""
    if not post_ids:
        return 0
    flipped = await fetch(Post, sql.flip(post_ids, counted, condition), *post_ids, *args)
    if not flipped:
        return 0
    sign = 1 if counted else -1
    for channel, n in sorted(Counter(str(r["channel"]) for r in flipped).items()):
        await fetch(Post, sql.CHANNEL, sign * n, uuid.UUID(channel))
    ids = [r["id"] for r in flipped]
    await fetch(Post, sql.readers(ids), sign, *ids)
    return len(flipped)


async def recount(post_ids: list[uuid.UUID], now: datetime | None = None) -> None:
    """Bring these posts' place in the counts in line with what they are now (after a
    create, an edit or a delete, in its transaction)."""
    now = now or clock.utcnow()
    await _flip(post_ids, True, sql.LIVE, now, now)
    await _flip(post_ids, False, NOT_LIVE, now, now)


async def settle(now: datetime | None = None) -> int:
    """Count the posts whose publish time came, stop counting those that expired; returns
    how many changed (the scheduler runs it every round; the counts are right without it,
    it keeps the corrections a page makes few)."""
    now = now or clock.utcnow()
    changed = 0
    for select, args in ((sql.DUE, [now, now, sql.BATCH]), (sql.EXPIRED, [now, sql.BATCH])):
        while ids := [r["id"] for r in await fetch(Post, select, *args)]:
            async with transaction():
                done = await _flip(ids, True, sql.LIVE, now, now)
                done += await _flip(ids, False, NOT_LIVE, now, now)
            changed += done
            if len(ids) < sql.BATCH or not done:
                break
    return changed


async def delete_before(org_id: uuid.UUID, before: datetime) -> int:
    """Delete an org's posts published before a time (retention), out of the counts first;
    returns how many."""
    deleted = 0
    while ids := [r["id"] for r in await fetch(Post, sql.OLDER, org_id, before, sql.BATCH)]:
        async with transaction():
            await _flip(ids, False)
            await fetch(Post, sql.delete(ids), *ids)
        deleted += len(ids)
    return deleted


async def record_read(org_id: uuid.UUID, user_id: uuid.UUID, post_id: uuid.UUID) -> None:
    """Store that a person read a post (the first time counts; a repeat changes nothing)."""
    now, read_id = clock.utcnow(), uuid.uuid4()
    if _on_postgres():
        await fetch(Post, sql.READ_PG, post_id, read_id, user_id, now, user_id)
        return
    async with transaction():
        if await fetch(Post, sql.READ_SQLITE, read_id, org_id, post_id, user_id, now):
            await fetch(Post, sql.READ_COUNT_SQLITE, user_id, post_id)


async def rebuild(now: datetime | None = None) -> None:
    """Recompute every count from the posts and reads (a repair; one transaction)."""
    now = now or clock.utcnow()
    async with transaction():
        for statement in sql.REBUILD:
            await fetch(Post, statement, *sql.rebuild_args(statement, now))
