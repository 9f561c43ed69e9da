"""The caller's timeline: pinned first, newest first, keyset pages, a fixed number of
queries per page whatever its size (no N+1), unread counts per channel."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from staffroom.accounts.service import members
from staffroom.core import clock
from staffroom.core.context import Principal
from staffroom.core.db.sql import as_uuid, fetch
from staffroom.core.errors import Invalid
from staffroom.feeds.schemas import FeedPage, PostOut
from staffroom.feeds.service import access
from staffroom.feeds.service import timeline_sql as sql
from staffroom.feeds.tables import Post

# A channel's unread count stops here (the web app's badge shows "999+"): exact below it,
# "this many or more" at it.
UNREAD_CAP = 1000


def _cursor(post: dict[str, Any]) -> str:
    raw = json.dumps([bool(post["pinned"]), post["publish_at"].isoformat(), str(post["id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[bool, datetime, uuid.UUID]:
    """The (pinned, publish_at, id) of the post a cursor continues after."""
    try:
        pinned, stamp, post_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        return bool(pinned), datetime.fromisoformat(stamp), uuid.UUID(post_id)
    except (ValueError, TypeError) as exc:
        raise Invalid("invalid_cursor", "The cursor is not valid.") from exc


async def _fetch(statement: sql.Statement) -> list[dict[str, Any]]:
    text, args = statement
    rows: list[dict[str, Any]] = await fetch(Post, text, *args)
    return rows


async def author_names(rows: list[dict[str, Any]]) -> dict[uuid.UUID, str]:
    """Display names of the authors of posts or comments, in one query."""
    return await members.display_names([r["author"] for r in rows])


async def posts_out(principal: Principal, rows: list[dict[str, Any]]) -> list[PostOut]:
    """Response bodies for posts, in their order: two queries whatever their number (one
    when the rows came from the page query, which brings names, comments, reads, acks)."""
    if not rows:
        return []
    if "is_read" not in rows[0]:
        ids = [r["id"] for r in rows]
        fetched = {
            as_uuid(r["id"]): r for r in await _fetch(sql.posts_by_id(principal.user_id, ids))
        }
        rows = [fetched[r["id"]] for r in rows if r["id"] in fetched]
    ids = [as_uuid(r["id"]) for r in rows]
    reactions: dict[uuid.UUID, dict[str, int]] = {i: {} for i in ids}
    mine: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    for r in await _fetch(sql.reactions(principal.user_id, ids)):
        post = as_uuid(r["post"])
        reactions[post][r["emoji"]] = int(r["n"])
        if r["mine"]:
            mine[post].append(r["emoji"])
    return [_post_out(r, reactions[i], mine[i]) for i, r in zip(ids, rows, strict=True)]


def _post_out(r: dict[str, Any], reactions: dict[str, int], mine: list[str]) -> PostOut:
    attachments = r["attachment_ids"]
    if isinstance(attachments, str):
        attachments = json.loads(attachments)
    return PostOut(
        id=as_uuid(r["id"]),
        channel_id=as_uuid(r["channel"]),
        author_id=as_uuid(r["author"]) if r["author"] else None,
        author_name=r["author_display_name"],
        title=r["title"],
        body_md=r["body_md"],
        body_html=r["body_html"],
        attachment_ids=[uuid.UUID(str(a)) for a in attachments],
        publish_at=r["publish_at"],
        expires_at=r["expires_at"],
        pinned=bool(r["pinned"]),
        requires_ack=bool(r["requires_ack"]),
        ack_due_at=r["ack_due_at"],
        created_at=r["created_at"],
        edited_at=r["edited_at"],
        reactions=dict(sorted(reactions.items())),
        my_reactions=sorted(mine),
        comment_count=int(r["comment_count"]),
        read=bool(r["is_read"]),
        acknowledged=bool(r["is_acked"]),
    )


async def unread_counts(principal: Principal, channel_ids: list[uuid.UUID]) -> dict[str, int]:
    """Live posts the caller has not read, per channel (at most UNREAD_CAP each), read
    from the kept counts (service/tallies.py) in one statement: its cost does not grow
    with what the caller has read or left unread."""
    if not channel_ids:
        return {}
    statement = sql.unread_kept(
        principal.org_id, principal.user_id, channel_ids, clock.utcnow(), UNREAD_CAP
    )
    return {str(as_uuid(r["channel"])): int(r["n"]) for r in await _fetch(statement)}


async def page(
    principal: Principal,
    channel_ids: list[uuid.UUID],
    cursor: str | None,
    limit: int,
    *,
    scheduled: bool = False,
) -> FeedPage:
    """A page of live posts of these channels (with `scheduled`, those still to be
    published too), pinned first, newest first."""
    if not channel_ids:
        return FeedPage(items=[], next_cursor=None, unread_by_channel={})
    after = _after(cursor) if cursor else None
    now = clock.utcnow()
    statement = sql.page(
        principal.org_id, principal.user_id, channel_ids, now, after, limit + 1, scheduled=scheduled
    )
    rows = await _fetch(statement)
    next_cursor = _cursor(rows[limit - 1]) if len(rows) > limit else None
    rows = rows[:limit]
    return FeedPage(
        items=await posts_out(principal, rows),
        next_cursor=next_cursor,
        unread_by_channel=await unread_counts(principal, channel_ids),
    )


async def feed(principal: Principal, cursor: str | None, limit: int) -> FeedPage:
    """The caller's timeline across every channel they are in."""
    return await page(principal, await access.visible_channel_ids(principal), cursor, limit)
