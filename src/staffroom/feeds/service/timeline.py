"""The caller's timeline: pinned first, newest first, keyset pages, a fixed number of
queries per page whatever its size (no N+1), unread counts per channel."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Count

from staffroom.accounts.service import members
from staffroom.core import clock
from staffroom.core.context import Principal
from staffroom.core.errors import Invalid
from staffroom.feeds.schemas import FeedPage, PostOut
from staffroom.feeds.service import access
from staffroom.feeds.tables import Acknowledgement, Comment, Post, PostRead, Reaction

# Unread counts cover the newest this-many unread posts (a badge shows "999+" beyond):
# counting every unread post of a big org on each feed page would scan them all.
UNREAD_CAP = 1000
# The timeline's order; the (org, pinned, publish_at, id) index serves it backwards.
_NEWEST_FIRST = (Post.pinned, Post.publish_at, Post.id)


def _live_where(org_id: uuid.UUID, channel_ids: list[uuid.UUID]) -> Any:
    now = clock.utcnow()
    return (
        (Post.org == org_id)
        & Post.channel.is_in(channel_ids)
        & Post.deleted_at.is_null()
        & (Post.publish_at <= now)
        & (Post.expires_at.is_null() | (Post.expires_at > now))
    )


def _cursor(post: dict[str, Any]) -> str:
    raw = json.dumps([post["pinned"], post["publish_at"].isoformat(), str(post["id"])])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str) -> Any:
    """Posts after the cursor in (pinned desc, publish_at desc, id desc) order."""
    try:
        pinned, stamp, post_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        at, pid = datetime.fromisoformat(stamp), uuid.UUID(post_id)
        pinned = bool(pinned)
    except (ValueError, TypeError) as exc:
        raise Invalid("invalid_cursor", "The cursor is not valid.") from exc
    older = (Post.publish_at < at) | ((Post.publish_at == at) & (Post.id < pid))
    if pinned:
        return (Post.pinned == False) | older  # noqa: E712
    return (Post.pinned == False) & older  # noqa: E712


async def author_names(rows: list[dict[str, Any]]) -> dict[uuid.UUID, str]:
    """Display names of the authors of posts or comments, in one query."""
    return await members.display_names([r["author"] for r in rows])


async def posts_out(principal: Principal, rows: list[dict[str, Any]]) -> list[PostOut]:
    """Response bodies for posts: six grouped queries, whatever the number of posts."""
    ids = [r["id"] for r in rows]
    if not ids:
        return []
    reactions: dict[uuid.UUID, dict[str, int]] = {i: {} for i in ids}
    for r in (
        await Reaction.select(Reaction.post, Reaction.emoji, Count())
        .where(Reaction.post.is_in(ids))
        .group_by(Reaction.post, Reaction.emoji)
    ):
        reactions[r["post"]][r["emoji"]] = r["count"]
    mine: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    for r in await Reaction.select(Reaction.post, Reaction.emoji).where(
        Reaction.post.is_in(ids) & (Reaction.user == principal.user_id)
    ):
        mine[r["post"]].append(r["emoji"])
    comments = {
        r["post"]: r["count"]
        for r in await Comment.select(Comment.post, Count())
        .where(Comment.post.is_in(ids) & Comment.deleted_at.is_null())
        .group_by(Comment.post)
    }
    read = {
        r["post"]
        for r in await PostRead.select(PostRead.post).where(
            PostRead.post.is_in(ids) & (PostRead.user == principal.user_id)
        )
    }
    acked = {
        r["post"]
        for r in await Acknowledgement.select(Acknowledgement.post).where(
            Acknowledgement.post.is_in(ids) & (Acknowledgement.user == principal.user_id)
        )
    }
    if rows and "author_display_name" in rows[0]:  # joined by the page query
        names = {r["author"]: r["author_display_name"] for r in rows if r["author"]}
    else:
        names = await author_names(rows)
    return [
        PostOut(
            id=r["id"],
            channel_id=r["channel"],
            author_id=r["author"],
            author_name=names.get(r["author"]),
            title=r["title"],
            body_md=r["body_md"],
            body_html=r["body_html"],
            attachment_ids=[uuid.UUID(str(a)) for a in r["attachment_ids"]],
            publish_at=r["publish_at"],
            expires_at=r["expires_at"],
            pinned=r["pinned"],
            requires_ack=r["requires_ack"],
            ack_due_at=r["ack_due_at"],
            created_at=r["created_at"],
            edited_at=r["edited_at"],
            reactions=dict(sorted(reactions[r["id"]].items())),
            my_reactions=sorted(mine[r["id"]]),
            comment_count=comments.get(r["id"], 0),
            read=r["id"] in read,
            acknowledged=r["id"] in acked,
        )
        for r in rows
    ]


async def unread_counts(principal: Principal, channel_ids: list[uuid.UUID]) -> dict[str, int]:
    """Live posts the caller has not read, per channel, among the newest UNREAD_CAP unread
    ones (one query walking the timeline index, bounded whatever the org's size)."""
    if not channel_ids:
        return {}
    mine = PostRead.select(PostRead.post).where(PostRead.user == principal.user_id)
    newest = (
        Post.select(Post.id)
        .where(_live_where(principal.org_id, channel_ids) & Post.id.not_in(mine))
        .order_by(*_NEWEST_FIRST, ascending=False)
        .limit(UNREAD_CAP)
    )
    rows = await (
        Post.select(Post.channel, Count()).where(Post.id.is_in(newest)).group_by(Post.channel)
    )
    return {str(r["channel"]): r["count"] for r in rows}


async def page(
    principal: Principal,
    channel_ids: list[uuid.UUID],
    cursor: str | None,
    limit: int,
) -> FeedPage:
    """A page of live posts of these channels, pinned first, newest first."""
    if not channel_ids:
        return FeedPage(items=[], next_cursor=None, unread_by_channel={})
    query = Post.select(
        *Post.all_columns(), Post.author.display_name.as_alias("author_display_name")
    ).where(_live_where(principal.org_id, channel_ids))
    if cursor:
        query = query.where(_after(cursor))
    rows = await (
        query.order_by(*_NEWEST_FIRST, ascending=False).limit(limit + 1).output(load_json=True)
    )
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
