"""Posts: write (Markdown rendered and sanitised once), edit, soft delete, read, acknowledge."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from msgspec import UNSET

from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.engine import unique_or
from staffroom.core.errors import Conflict, Forbidden, Invalid, NotFound
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name
from staffroom.feeds import markdown
from staffroom.feeds.schemas import FeedPage, PostIn, PostOut, PostPatch
from staffroom.feeds.service import access, events, media, tallies, timeline
from staffroom.feeds.tables import Acknowledgement, Post


def _check_times(
    publish_at: datetime, expires_at: datetime | None, ack_due_at: datetime | None
) -> None:
    for value in (publish_at, expires_at, ack_due_at):
        if value is not None and value.tzinfo is None:
            raise Invalid("naive_datetime", "Give times with a UTC offset (ISO-8601).")
    if expires_at is not None and expires_at <= publish_at:
        raise Invalid("expires_before_publish", "A post must expire after it is published.")


async def create(
    rt: Runtime, principal: Principal, channel_id: uuid.UUID, data: PostIn, ctx: RequestContext
) -> PostOut:
    """Publish now or at `publish_at`; only those allowed to post to the channel may."""
    channel = await access.channel_for_reader(principal, channel_id)
    if not await access.can_post(principal, channel):
        raise Forbidden("cannot_post", "You cannot post to this channel.")
    now = clock.utcnow()
    publish_at = data.publish_at or now
    _check_times(publish_at, data.expires_at, data.ack_due_at)
    html = await asyncio.to_thread(markdown.render, data.body)
    attachments = await media.check_attachments(rt, principal, data.attachment_ids)
    post_id = uuid.uuid4()
    # Counted in the unread counts from the next settling (service/tallies.py); until
    # then a page counts it as one whose time came.
    await Post.insert(
        Post(
            id=post_id,
            org=principal.org_id,
            channel=channel_id,
            author=principal.user_id,
            title=clean_name(data.title, "title"),
            body_md=data.body,
            body_html=html,
            attachment_ids=attachments,
            publish_at=publish_at,
            expires_at=data.expires_at,
            pinned=data.pinned,
            requires_ack=data.requires_ack,
            ack_due_at=data.ack_due_at,
            created_at=now,
        )
    )
    await audit.by(
        principal, ctx, "post.created", ("post", post_id), {"channel_id": str(channel_id)}
    )
    # Published now: announced at once. Scheduled: the announcer sends it when due.
    await events.announce(rt.relay, post_id)
    return await get(principal, post_id)


async def get(principal: Principal, post_id: uuid.UUID) -> PostOut:
    """One post the caller may see."""
    post = await access.post_for_reader(principal, post_id)
    return (await timeline.posts_out(principal, [post]))[0]


async def _editable(principal: Principal, post_id: uuid.UUID) -> dict[str, Any]:
    post = await access.post_for_reader(principal, post_id)
    if post["author"] != principal.user_id and not principal.can("feeds.manage"):
        raise Forbidden("not_author", "Only the author or a moderator can change this post.")
    return post


async def patch(
    rt: Runtime, principal: Principal, post_id: uuid.UUID, data: PostPatch, ctx: RequestContext
) -> PostOut:
    """Edit a post (keeps edited_at); the body is rendered and sanitised again."""
    post = await _editable(principal, post_id)
    values: dict[Any, Any] = {Post.edited_at: clock.utcnow()}
    if data.title is not UNSET:
        values[Post.title] = clean_name(data.title, "title")
    if data.body is not UNSET:
        values[Post.body_md] = data.body
        values[Post.body_html] = await asyncio.to_thread(markdown.render, data.body)
    if data.attachment_ids is not UNSET:
        values[Post.attachment_ids] = await media.check_attachments(
            rt, principal, data.attachment_ids
        )
    for field in ("expires_at", "pinned", "requires_ack", "ack_due_at"):
        if getattr(data, field) is not UNSET:
            values[getattr(Post, field)] = getattr(data, field)
    _check_times(
        post["publish_at"],
        values.get(Post.expires_at, post["expires_at"]),
        values.get(Post.ack_due_at, post["ack_due_at"]),
    )
    async with tallies.transaction():  # an expiry moved: counted from now, or no longer
        await Post.update(values).where(Post.id == post_id)
        await tallies.recount([post_id])
    await audit.by(principal, ctx, "post.edited", ("post", post_id))
    await events.changed(rt.relay, post, "post.updated")
    return await get(principal, post_id)


async def delete(
    rt: Runtime, principal: Principal, post_id: uuid.UUID, ctx: RequestContext
) -> None:
    """Soft delete: the post is hidden everywhere."""
    post = await _editable(principal, post_id)
    async with tallies.transaction():
        await Post.update({Post.deleted_at: clock.utcnow()}).where(Post.id == post_id)
        await tallies.recount([post_id])
    await audit.by(principal, ctx, "post.deleted", ("post", post_id))
    await events.changed(rt.relay, post, "post.deleted")


async def channel_posts(
    principal: Principal,
    channel_id: uuid.UUID,
    cursor: str | None,
    limit: int,
    include_scheduled: bool = False,
) -> FeedPage:
    """One channel's live posts, as the timeline orders them; moderators may ask for the
    scheduled ones too (they come first: their time is the latest)."""
    await access.channel_for_reader(principal, channel_id)
    if include_scheduled and not principal.can("feeds.manage"):
        raise Forbidden("scheduled_forbidden", "Only moderators list scheduled posts.")
    return await timeline.page(principal, [channel_id], cursor, limit, scheduled=include_scheduled)


async def _record_once(table: Any, principal: Principal, post_id: uuid.UUID, stamp: str) -> None:
    with unique_or(None):  # the first time counts; a repeat changes nothing
        await table.insert(
            table(
                id=uuid.uuid4(),
                org=principal.org_id,
                post=post_id,
                user=principal.user_id,
                **{stamp: clock.utcnow()},
            )
        )


async def mark_read(principal: Principal, post_id: uuid.UUID) -> None:
    """Record that the caller read a post (idempotent)."""
    post = await access.post_for_reader(principal, post_id)
    if not access.is_live(post):
        raise NotFound("post_not_found", access.NO_POST)
    await tallies.record_read(principal.org_id, principal.user_id, post_id)


async def acknowledge(principal: Principal, post_id: uuid.UUID, ctx: RequestContext) -> None:
    """Acknowledge a mandatory post (idempotent); reading it is implied."""
    post = await access.post_for_reader(principal, post_id)
    if not access.is_live(post):
        raise NotFound("post_not_found", access.NO_POST)
    if not post["requires_ack"]:
        raise Conflict("ack_not_required", "This post does not ask for an acknowledgement.")
    await tallies.record_read(principal.org_id, principal.user_id, post_id)
    await _record_once(Acknowledgement, principal, post_id, "acked_at")
    await audit.by(principal, ctx, "post.acknowledged", ("post", post_id))
