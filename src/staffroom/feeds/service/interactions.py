"""Comments (one level of replies), reactions, and reach statistics with a CSV export."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.csvfiles import to_csv
from staffroom.core.db.engine import unique_or
from staffroom.core.db.pages import page_filter, page_of
from staffroom.core.errors import Forbidden, Invalid, NotFound
from staffroom.feeds.schemas import (
    CommentIn,
    CommentOut,
    CommentPage,
    PersonRef,
    PostOut,
    StatsOut,
)
from staffroom.feeds.service import access, timeline
from staffroom.feeds.tables import Acknowledgement, Channel, Comment, PostRead, Reaction

NOT_ACKED_SHOWN = 500


async def _live_post(
    principal: Principal, post_id: uuid.UUID
) -> tuple[dict[str, Any], dict[str, Any]]:
    post = await access.post_for_reader(principal, post_id)
    if not access.is_live(post):
        raise NotFound("post_not_found", access.NO_POST)
    channel = await Channel.select().where(Channel.id == post["channel"]).first()
    assert channel is not None
    return post, channel


def _comment_out(row: dict[str, Any], names: dict[uuid.UUID, str]) -> CommentOut:
    deleted = row["deleted_at"] is not None
    return CommentOut(
        id=row["id"],
        post_id=row["post"],
        parent_id=row["parent"],
        author_id=None if deleted else row["author"],
        author_name=None if deleted else names.get(row["author"]),
        body="" if deleted else row["body"],
        created_at=row["created_at"],
        edited_at=row["edited_at"],
        deleted=deleted,
    )


async def add_comment(
    principal: Principal, post_id: uuid.UUID, data: CommentIn, ctx: RequestContext
) -> CommentOut:
    """Comment on a post, or reply to a top-level comment."""
    post, channel = await _live_post(principal, post_id)
    if not channel["comments_enabled"]:
        raise Forbidden("comments_disabled", "Comments are switched off in this channel.")
    if data.parent_id is not None:
        parent = (
            await Comment.select()
            .where((Comment.id == data.parent_id) & (Comment.post == post_id))
            .first()
        )
        if parent is None or parent["deleted_at"] is not None:
            raise Invalid("unknown_parent", "No such comment to reply to.")
        if parent["parent"] is not None:
            raise Invalid("reply_depth", "Replies go to top-level comments only.")
    body = data.body.strip()
    if not body:
        raise Invalid("invalid_body", "A comment must not be blank.")
    row = Comment(
        id=uuid.uuid4(),
        org=principal.org_id,
        post=post["id"],
        parent=data.parent_id,
        author=principal.user_id,
        body=body,
        created_at=clock.utcnow(),
    )
    await Comment.insert(row)
    stored = await Comment.select().where(Comment.id == row.id).first()
    assert stored is not None
    return _comment_out(stored, await timeline.author_names([stored]))


async def list_comments(
    principal: Principal, post_id: uuid.UUID, cursor: str | None, limit: int
) -> CommentPage:
    """A post's comments, newest first; deleted ones stay as tombstones for their replies."""
    await _live_post(principal, post_id)
    query = Comment.select().where(Comment.post == post_id)
    if (after := page_filter(Comment, cursor)) is not None:
        query = query.where(after)
    rows = await query.order_by(Comment.created_at, Comment.id, ascending=False).limit(limit + 1)
    rows, next_cursor = page_of(rows, limit)
    names = await timeline.author_names(rows)
    return CommentPage(items=[_comment_out(r, names) for r in rows], next_cursor=next_cursor)


async def _comment(principal: Principal, comment_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await Comment.select()
        .where(
            (Comment.id == comment_id)
            & (Comment.org == principal.org_id)
            & Comment.deleted_at.is_null()
        )
        .first()
    )
    if row is None:
        raise NotFound("comment_not_found", "No such comment.")
    await _live_post(principal, row["post"])  # outside the audience it does not exist
    return row


async def edit_comment(principal: Principal, comment_id: uuid.UUID, body: str) -> CommentOut:
    """Edit one's own comment."""
    row = await _comment(principal, comment_id)
    if row["author"] != principal.user_id:
        raise Forbidden("not_author", "Only the author can edit a comment.")
    if not body.strip():
        raise Invalid("invalid_body", "A comment must not be blank.")
    await Comment.update({Comment.body: body.strip(), Comment.edited_at: clock.utcnow()}).where(
        Comment.id == comment_id
    )
    stored = await Comment.select().where(Comment.id == comment_id).first()
    assert stored is not None
    return _comment_out(stored, await timeline.author_names([stored]))


async def delete_comment(principal: Principal, comment_id: uuid.UUID, ctx: RequestContext) -> None:
    """Delete one's own comment; moderators delete any (audited)."""
    row = await _comment(principal, comment_id)
    own = row["author"] == principal.user_id
    if not own and not principal.can("feeds.manage"):
        raise Forbidden("not_author", "Only the author or a moderator can delete a comment.")
    await Comment.update({Comment.deleted_at: clock.utcnow()}).where(Comment.id == comment_id)
    if not own:
        await audit.record(
            "comment.moderated",
            ctx=ctx,
            org_id=principal.org_id,
            actor_id=principal.user_id,
            target_type="comment",
            target_id=comment_id,
        )


async def react(principal: Principal, post_id: uuid.UUID, emoji: str) -> PostOut:
    """Add one emoji (idempotent: one of each per person)."""
    post, channel = await _live_post(principal, post_id)
    if not channel["reactions_enabled"]:
        raise Forbidden("reactions_disabled", "Reactions are switched off in this channel.")
    with unique_or(None):  # reacting twice with one emoji changes nothing
        await Reaction.insert(
            Reaction(
                id=uuid.uuid4(),
                org=principal.org_id,
                post=post_id,
                user=principal.user_id,
                emoji=emoji,
                created_at=clock.utcnow(),
            )
        )
    return (await timeline.posts_out(principal, [post]))[0]


async def unreact(principal: Principal, post_id: uuid.UUID, emoji: str) -> PostOut:
    """Take one's emoji back."""
    post, _ = await _live_post(principal, post_id)
    await Reaction.delete().where(
        (Reaction.post == post_id)
        & (Reaction.user == principal.user_id)
        & (Reaction.emoji == emoji)
    )
    return (await timeline.posts_out(principal, [post]))[0]


async def _reach(
    principal: Principal, post_id: uuid.UUID
) -> tuple[list[dict[str, Any]], dict[uuid.UUID, Any], dict[uuid.UUID, Any]]:
    if not principal.can("feeds.publish"):
        raise Forbidden("stats_forbidden", "Only editors and admins see post statistics.")
    post = await access.post_for_reader(principal, post_id)
    channel = await Channel.select().where(Channel.id == post["channel"]).first()
    assert channel is not None
    people = await access.audience(channel)
    ids = [p["id"] for p in people]
    reads = {
        r["user"]: r["read_at"]
        for r in await PostRead.select(PostRead.user, PostRead.read_at).where(
            PostRead.post == post_id
        )
        if r["user"] in set(ids)
    }
    acks = {
        r["user"]: r["acked_at"]
        for r in await Acknowledgement.select(Acknowledgement.user, Acknowledgement.acked_at).where(
            Acknowledgement.post == post_id
        )
        if r["user"] in set(ids)
    }
    return list(people), reads, acks


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


async def stats(principal: Principal, post_id: uuid.UUID) -> StatsOut:
    """Audience, reads, acknowledgements, and who has not acknowledged yet."""
    people, reads, acks = await _reach(principal, post_id)
    missing = [p for p in people if p["id"] not in acks]
    return StatsOut(
        audience_size=len(people),
        reads=len(reads),
        acknowledgements=len(acks),
        read_pct=_pct(len(reads), len(people)),
        ack_pct=_pct(len(acks), len(people)),
        not_acknowledged_count=len(missing),
        not_acknowledged=[
            PersonRef(
                id=p["id"], display_name=p["display_name"], login=p["email"] or p["username"] or ""
            )
            for p in missing[:NOT_ACKED_SHOWN]
        ],
    )


async def stats_csv(
    principal: Principal, post_id: uuid.UUID, not_acknowledged: bool = False
) -> bytes:
    """Everyone in the audience with their read and acknowledgement times (formula-safe);
    with `not_acknowledged`, only those still to acknowledge (the list to chase)."""
    people, reads, acks = await _reach(principal, post_id)
    if not_acknowledged:
        people = [p for p in people if p["id"] not in acks]
    return to_csv(
        ["display_name", "login", "read_at", "acknowledged_at"],
        (
            [
                p["display_name"],
                p["email"] or p["username"] or "",
                reads[p["id"]].isoformat() if p["id"] in reads else "",
                acks[p["id"]].isoformat() if p["id"] in acks else "",
            ]
            for p in people
        ),
    )
