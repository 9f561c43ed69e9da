"""Feeds' share of a person's GDPR export and erasure (see core/personal_data.py).

Two holders: what they did in the news feed (posts and comments they wrote, reactions,
reads, acknowledgements) and the files they uploaded. Erasure deletes their reactions,
reads (and the counts of them) and acknowledgements, and their files, stored bytes
included; posts and comments stay, shown as by a deleted user."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import Any

from staffroom.core.personal_data import Listing, batches
from staffroom.core.runtime import Runtime
from staffroom.feeds.tables import (
    Acknowledgement,
    Comment,
    Media,
    Post,
    PostRead,
    Reaction,
    ReadTally,
)

# Rows that are about the person only: deleted outright.
_PERSONAL = (Reaction, PostRead, ReadTally, Acknowledgement)


async def export_for(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> list[Listing]:
    """posts.json, comments.json, reactions.json, reads.json, acknowledgements.json."""
    return [
        Listing(
            "posts.json",
            "news posts you wrote",
            batches(Post, (Post.author == user_id) & (Post.org == org_id)),
        ),
        Listing(
            "comments.json",
            "your comments on posts",
            batches(Comment, (Comment.author == user_id) & (Comment.org == org_id)),
        ),
        Listing(
            "reactions.json", "your emoji reactions", batches(Reaction, Reaction.user == user_id)
        ),
        Listing(
            "reads.json",
            "posts you opened (first time)",
            batches(PostRead, PostRead.user == user_id),
        ),
        Listing(
            "acknowledgements.json",
            "mandatory posts you acknowledged",
            batches(Acknowledgement, Acknowledgement.user == user_id),
        ),
    ]


async def erase(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Their reactions, reads, read counts and acknowledgements."""
    for table in _PERSONAL:
        await table.delete().where(table.user == user_id)


async def media_for(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> list[Listing]:
    """media.json, and the uploaded files themselves under media/ in the archive."""
    where = (Media.uploader == user_id) & (Media.org == org_id)
    about = "files you uploaded; the files themselves are in media/"
    return [Listing("media.json", about, batches(Media, where), attachment=_stored_file)]


def _stored_file(row: dict[str, Any]) -> tuple[str, str] | None:
    """Where a ready upload goes in the archive, and its blob key."""
    if row["status"] != "ready":
        return None
    return f"media/{row['id']}-{_safe(row['filename'])}", row["key"]


def _safe(name: str) -> str:
    # File names never become paths, in the archive either: the last part, plain characters.
    last = PurePosixPath(name.replace("\\", "/")).name
    kept = "".join(c if c.isalnum() or c in "._-" else "_" for c in last)[:100]
    return kept.lstrip(".") or "file"


async def erase_media(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Their uploads, stored bytes first."""
    for row in await Media.select().where((Media.uploader == user_id) & (Media.org == org_id)):
        await rt.blobs.delete(row["key"])
        await Media.delete().where(Media.id == row["id"])
