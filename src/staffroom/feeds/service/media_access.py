"""Who may read and write a media object: the one check every media route, the local
download and every presigned URL go through.

A file is readable by exactly those who may read something it is attached to (a post,
a channel's image, a chat message), and by its uploader alone until it is attached;
its bytes are writable by its uploader only. Anyone else gets 404, as for another
org's file: a file's existence is as private as what holds it.

Chat attachments live in chat's tables, and feeds must not import chat: chat registers
a `MediaUse` on the app's runtime (`staffroom/wiring.py`), as feeds registers chat's
attachment check. Without one, chat attachments count as unattached: their uploader
alone reads them (closed).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from staffroom.core.context import Principal
from staffroom.core.db.sql import as_uuid, fetch
from staffroom.core.errors import NotFound
from staffroom.core.runtime import Runtime
from staffroom.feeds.service import access
from staffroom.feeds.tables import Channel, Media, Post

# None: the file is attached to nothing of that domain's; True: to something the caller
# may read; False: only to things the caller may not read.
MediaUse = Callable[[Principal, uuid.UUID], Awaitable[bool | None]]


@dataclass
class MediaUses:
    """Other domains' answers, in one app."""

    uses: list[MediaUse] = field(default_factory=list)


# Posts keep their attachments as a JSON list of ids: matched as text (both engines).
_POSTS_WITH = (
    "SELECT id FROM post WHERE org = {} AND deleted_at IS NULL"
    " AND CAST(attachment_ids AS TEXT) LIKE {}"
)


def no_media() -> NotFound:
    return NotFound("media_not_found", "No such file.")


def on_media_use(rt: Runtime, use: MediaUse) -> None:
    """Register another domain's answer to "is it attached, may the caller read that?"."""
    uses = rt.part(MediaUses).uses
    if use not in uses:
        uses.append(use)


async def _row(principal: Principal, media_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await Media.select().where((Media.id == media_id) & (Media.org == principal.org_id)).first()
    )
    if row is None:
        raise no_media()
    return row


async def _in_posts(principal: Principal, media_id: uuid.UUID) -> bool | None:
    found = await fetch(Post, _POSTS_WITH, principal.org_id, f"%{media_id}%")
    if not found:
        return None
    for post in found:
        try:
            await access.post_for_reader(principal, as_uuid(post["id"]))
        except NotFound:
            continue
        return True
    return False


async def _as_channel_image(principal: Principal, media_id: uuid.UUID) -> bool | None:
    rows = await Channel.select(Channel.id).where(
        (Channel.org == principal.org_id) & (Channel.image_media_id == media_id)
    )
    if not rows:
        return None
    visible = set(await access.visible_channel_ids(principal))
    return any(r["id"] in visible for r in rows)


async def readable(rt: Runtime, principal: Principal, media_id: uuid.UUID) -> dict[str, Any]:
    """The media row if the caller may read the file, else 404."""
    row = await _row(principal, media_id)
    attached = False
    for use in (_in_posts, _as_channel_image, *rt.part(MediaUses).uses):
        verdict = await use(principal, media_id)
        if verdict:
            return row
        attached = attached or verdict is not None
    if attached or row["uploader"] != principal.user_id:
        raise no_media()
    return row


async def writable(rt: Runtime, principal: Principal, media_id: uuid.UUID) -> dict[str, Any]:
    """The media row if the caller uploaded it (only they send or verify its bytes) and
    may still read it (an uploader who left what holds it learns nothing of it either)."""
    row = await readable(rt, principal, media_id)
    if row["uploader"] != principal.user_id:
        raise no_media()
    return row
