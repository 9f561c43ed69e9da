"""Channels: audiences, who may post, comments and reactions switches (feeds.manage)."""

from __future__ import annotations

import uuid
from typing import Any

from msgspec import UNSET

from staffroom.accounts.service import groups
from staffroom.accounts.service.users import check_groups
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.sql import transaction
from staffroom.core.errors import Invalid, NotFound
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name
from staffroom.feeds.schemas import (
    ChannelIn,
    ChannelList,
    ChannelOut,
    ChannelPatch,
    GroupChannelList,
    GroupChannelOut,
)
from staffroom.feeds.service import access, media
from staffroom.feeds.service.timeline import unread_counts
from staffroom.feeds.tables import Channel, ChannelGroup


async def _set_groups(
    principal: Principal, channel_id: uuid.UUID, role: str, group_ids: list[uuid.UUID]
) -> None:
    await check_groups(principal.org_id, group_ids)
    await ChannelGroup.delete().where(
        (ChannelGroup.channel == channel_id) & (ChannelGroup.role == role)
    )
    if group_ids:
        await ChannelGroup.insert(
            *[
                ChannelGroup(
                    id=uuid.uuid4(), org=principal.org_id, channel=channel_id, group=g, role=role
                )
                for g in sorted(set(group_ids))
            ]
        )


def _check_policy(
    audience: str, audience_groups: list[Any], posting: str, posters: list[Any]
) -> None:
    if audience == "groups" and not audience_groups:
        raise Invalid("audience_groups_required", "Name the groups that see this channel.")
    if posting == "groups" and not posters:
        raise Invalid("poster_groups_required", "Name the groups that may post here.")


async def _check_image(rt: Runtime, principal: Principal, media_id: uuid.UUID | None) -> None:
    if media_id is not None:
        await media.check_attachments(rt, principal, [media_id])


async def _out(principal: Principal, row: dict[str, Any], unread: int) -> ChannelOut:
    groups = await access.channel_groups(row["id"])
    return ChannelOut(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        image_media_id=row["image_media_id"],
        audience=row["audience"],
        audience_group_ids=groups["audience"],
        posting=row["posting"],
        poster_group_ids=groups["poster"],
        comments_enabled=row["comments_enabled"],
        reactions_enabled=row["reactions_enabled"],
        can_post=await access.can_post(principal, row),
        unread=unread,
        created_at=row["created_at"],
    )


async def create(
    rt: Runtime, principal: Principal, data: ChannelIn, ctx: RequestContext
) -> ChannelOut:
    """Create a channel with its audience and posting policy."""
    _check_policy(data.audience, data.audience_group_ids, data.posting, data.poster_group_ids)
    await _check_image(rt, principal, data.image_media_id)
    channel_id = uuid.uuid4()
    async with transaction(Channel):
        await Channel.insert(
            Channel(
                id=channel_id,
                org=principal.org_id,
                name=clean_name(data.name),
                description=data.description.strip(),
                image_media_id=data.image_media_id,
                audience=data.audience,
                posting=data.posting,
                comments_enabled=data.comments_enabled,
                reactions_enabled=data.reactions_enabled,
                created_at=clock.utcnow(),
            )
        )
        if data.audience == "groups":
            await _set_groups(principal, channel_id, "audience", data.audience_group_ids)
        if data.posting == "groups":
            await _set_groups(principal, channel_id, "poster", data.poster_group_ids)
    # Its audience's open sockets reconnect to receive it.
    await realtime.announce_topics_changed(rt.relay, principal.org_id, None)
    await audit.by(principal, ctx, "channel.created", ("channel", channel_id))
    return await get(principal, channel_id)


async def get(principal: Principal, channel_id: uuid.UUID) -> ChannelOut:
    """One channel the caller may read."""
    row = await access.channel_for_reader(principal, channel_id)
    unread = await unread_counts(principal, [channel_id])
    return await _out(principal, row, unread.get(str(channel_id), 0))


async def list_channels(principal: Principal) -> ChannelList:
    """The channels the caller sees, with their unread counts."""
    ids = await access.visible_channel_ids(principal)
    rows = await Channel.select().where(Channel.id.is_in(ids)).order_by(Channel.name) if ids else []
    unread = await unread_counts(principal, ids)
    return ChannelList(items=[await _out(principal, r, unread.get(str(r["id"]), 0)) for r in rows])


async def _managed(principal: Principal, channel_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await Channel.select()
        .where((Channel.id == channel_id) & (Channel.org == principal.org_id))
        .first()
    )
    if row is None or row["archived_at"] is not None:
        raise NotFound("channel_not_found", "No such channel.")
    return row


async def patch(
    rt: Runtime,
    principal: Principal,
    channel_id: uuid.UUID,
    data: ChannelPatch,
    ctx: RequestContext,
) -> ChannelOut:
    """Change a channel; its audience applies to every post in it at once."""
    row = await _managed(principal, channel_id)
    groups = await access.channel_groups(channel_id)
    audience = row["audience"] if data.audience is UNSET else data.audience
    posting = row["posting"] if data.posting is UNSET else data.posting
    audience_groups = (
        groups["audience"] if data.audience_group_ids is UNSET else data.audience_group_ids
    )
    posters = groups["poster"] if data.poster_group_ids is UNSET else data.poster_group_ids
    _check_policy(audience, audience_groups, posting, posters)
    values: dict[Any, Any] = {Channel.audience: audience, Channel.posting: posting}
    if data.name is not UNSET:
        values[Channel.name] = clean_name(data.name)
    if data.description is not UNSET:
        values[Channel.description] = data.description.strip()
    if data.image_media_id is not UNSET:
        await _check_image(rt, principal, data.image_media_id)
        values[Channel.image_media_id] = data.image_media_id
    for field in ("comments_enabled", "reactions_enabled"):
        if getattr(data, field) is not UNSET:
            values[getattr(Channel, field)] = getattr(data, field)
    async with transaction(Channel):
        await Channel.update(values).where(Channel.id == channel_id)
        await _set_groups(
            principal, channel_id, "audience", audience_groups if audience == "groups" else []
        )
        await _set_groups(principal, channel_id, "poster", posters if posting == "groups" else [])
    # Its audience may have changed: everyone's open sockets check what they may read.
    await realtime.announce_topics_changed(rt.relay, principal.org_id, None)
    await audit.by(principal, ctx, "channel.changed", ("channel", channel_id))
    return await get(principal, channel_id)


async def archive(
    rt: Runtime, principal: Principal, channel_id: uuid.UUID, ctx: RequestContext
) -> None:
    """Archive a channel: it and its posts disappear from every feed."""
    await _managed(principal, channel_id)
    await Channel.update({Channel.archived_at: clock.utcnow()}).where(Channel.id == channel_id)
    await realtime.announce_topics_changed(rt.relay, principal.org_id, None)
    await audit.by(principal, ctx, "channel.archived", ("channel", channel_id))


async def of_group(principal: Principal, group_id: uuid.UUID) -> GroupChannelList:
    """The live channels a group is an audience of or may post to (what deleting or
    emptying the group changes), by name."""
    await groups.get_group(principal, group_id)  # another org's group: 404
    links = await ChannelGroup.select(ChannelGroup.channel).where(
        (ChannelGroup.group == group_id) & (ChannelGroup.org == principal.org_id)
    )
    ids = sorted({r["channel"] for r in links})
    if not ids:
        return GroupChannelList(items=[])
    rows = (
        await Channel.select(Channel.id, Channel.name)
        .where(Channel.id.is_in(ids) & Channel.archived_at.is_null())
        .order_by(Channel.name)
    )
    named: dict[uuid.UUID, dict[str, set[uuid.UUID]]] = {
        r["id"]: {"audience": set(), "poster": set()} for r in rows
    }
    if not named:
        return GroupChannelList(items=[])
    for r in await ChannelGroup.select(
        ChannelGroup.channel, ChannelGroup.group, ChannelGroup.role
    ).where(ChannelGroup.channel.is_in(list(named))):
        named[r["channel"]][r["role"]].add(r["group"])
    return GroupChannelList(
        items=[
            GroupChannelOut(
                id=r["id"],
                name=r["name"],
                audience=group_id in named[r["id"]]["audience"],
                posting=group_id in named[r["id"]]["poster"],
                only_audience_group=named[r["id"]]["audience"] == {group_id},
                only_poster_group=named[r["id"]]["poster"] == {group_id},
            )
            for r in rows
        ]
    )
