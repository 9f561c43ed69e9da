"""Who sees what: channel audiences and post visibility, always scoped by org.

Outside a channel's audience its posts do not exist: every route answers 404, as for
another org's objects. Moderators (feeds.manage) see every channel of their org.
"""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.accounts.service import people
from staffroom.core import clock
from staffroom.core.context import Principal
from staffroom.core.db.sql import as_uuid, fetch
from staffroom.core.errors import NotFound
from staffroom.feeds.service import timeline_sql
from staffroom.feeds.tables import Channel, ChannelGroup, Post

NO_POST = "No such post."


async def user_groups(principal: Principal) -> list[uuid.UUID]:
    """The caller's groups."""
    return await people.group_ids_of(principal.org_id, principal.user_id)


async def visible_channel_ids(principal: Principal) -> list[uuid.UUID]:
    """Channels whose posts the caller may read (one hand-written query: it runs on every
    feed page)."""
    text, args = timeline_sql.visible_channels(
        principal.org_id, principal.user_id, every_channel=principal.can("feeds.manage")
    )
    return sorted(as_uuid(r["id"]) for r in await fetch(Channel, text, *args))


async def channel_for_reader(principal: Principal, channel_id: uuid.UUID) -> dict[str, Any]:
    """A channel the caller may read, else 404."""
    if channel_id not in await visible_channel_ids(principal):
        raise NotFound("channel_not_found", "No such channel.")
    row = await Channel.select().where(Channel.id == channel_id).first()
    assert row is not None
    return row


async def channel_groups(channel_id: uuid.UUID) -> dict[str, list[uuid.UUID]]:
    """Audience and poster groups of a channel."""
    rows = await ChannelGroup.select(ChannelGroup.group, ChannelGroup.role).where(
        ChannelGroup.channel == channel_id
    )
    out: dict[str, list[uuid.UUID]] = {"audience": [], "poster": []}
    for r in rows:
        out[r["role"]].append(r["group"])
    return {k: sorted(v) for k, v in out.items()}


async def can_post(principal: Principal, channel: dict[str, Any]) -> bool:
    """Moderators always; otherwise editors, or members of the channel's poster groups."""
    if principal.can("feeds.manage"):
        return True
    if channel["posting"] == "editors":
        return principal.can("feeds.publish")
    posters = (await channel_groups(channel["id"]))["poster"]
    return bool(set(posters) & set(await user_groups(principal)))


def is_live(post: dict[str, Any]) -> bool:
    """Published, not expired, not deleted."""
    now = clock.utcnow()
    return bool(
        post["deleted_at"] is None
        and post["publish_at"] <= now
        and (post["expires_at"] is None or post["expires_at"] > now)
    )


async def post_for_reader(principal: Principal, post_id: uuid.UUID) -> dict[str, Any]:
    """A post the caller may see: live in a visible channel, or their own / moderated."""
    post = (
        await Post.select()
        .where((Post.id == post_id) & (Post.org == principal.org_id) & Post.deleted_at.is_null())
        .output(load_json=True)
        .first()
    )
    if post is None or post["channel"] not in await visible_channel_ids(principal):
        raise NotFound("post_not_found", NO_POST)
    if not is_live(post) and not (
        post["author"] == principal.user_id or principal.can("feeds.manage")
    ):
        raise NotFound("post_not_found", NO_POST)
    return post


async def audience(channel: dict[str, Any]) -> list[dict[str, Any]]:
    """The channel's audience, active people only, by name (`id`, `display_name`,
    `email`, `username`)."""
    if channel["audience"] == "everyone":
        return await people.active_people(channel["org"])
    groups = (await channel_groups(channel["id"]))["audience"]
    return await people.active_people(channel["org"], groups)
