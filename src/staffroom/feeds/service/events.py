"""Feed events through core/realtime: a post is announced once, when it is published
(at once, or when its publish_at arrives), so open apps refresh."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.core import clock
from staffroom.core.context import Principal
from staffroom.core.realtime import Relay
from staffroom.feeds.service import access, tallies
from staffroom.feeds.tables import Post


def channel_topic(org_id: uuid.UUID, channel_id: uuid.UUID) -> str:
    """The topic of one channel; it carries the org id."""
    return f"org:{org_id}:channel:{channel_id}"


async def topics_for(principal: Principal) -> list[str]:
    """The channel topics a user may receive: exactly the channels they can read."""
    return [channel_topic(principal.org_id, c) for c in await access.visible_channel_ids(principal)]


async def announce(relay: Relay, post_id: uuid.UUID) -> bool:
    """Publish "post.published" once: one conditional UPDATE claims the announcement, so
    two instances (or a retry) never announce the same post twice."""
    now = clock.utcnow()
    claimed = (
        await Post.update({Post.announced_at: now})
        .where(
            (Post.id == post_id)
            & Post.announced_at.is_null()
            & Post.deleted_at.is_null()
            & (Post.publish_at <= now)
        )
        .returning(Post.id, Post.org, Post.channel)
    )
    if not claimed:
        return False
    await _send(relay, claimed[0], "post.published")
    return True


async def announce_due(relay: Relay, limit: int = 500) -> int:
    """Announce scheduled posts whose time has come; returns how many went out. Settles
    the unread counts first (new posts, scheduled ones due, expiries passed)."""
    await tallies.settle()
    due = await (
        Post.select(Post.id)
        .where(
            Post.announced_at.is_null()
            & Post.deleted_at.is_null()
            & (Post.publish_at <= clock.utcnow())
        )
        .order_by(Post.publish_at)
        .limit(limit)
    )
    sent = 0
    for row in due:
        sent += await announce(relay, row["id"])
    return sent


async def changed(relay: Relay, post: dict[str, Any], kind: str) -> None:
    """Tell readers that an announced post was edited or deleted."""
    if post["announced_at"] is not None:
        await _send(relay, post, kind)


async def _send(relay: Relay, post: dict[str, Any], kind: str) -> None:
    await relay.publish(
        channel_topic(post["org"], post["channel"]),
        {"type": kind, "post_id": str(post["id"]), "channel_id": str(post["channel"])},
    )
