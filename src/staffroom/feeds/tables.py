"""Feeds tables. A post to an all-company channel writes no per-user rows: reads and
acknowledgements are rows only for people who did read or acknowledge."""

from __future__ import annotations

from typing import Any

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from staffroom.accounts.tables import Group, Org, User


class Channel(Table, tablename="channel"):
    """Where posts appear, for everyone in the org or for chosen groups."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=120)
    description = Varchar(length=1000, default="")
    image_media_id = UUID(null=True, default=None)
    # everyone | groups (ChannelGroup rows with role "audience")
    audience = Varchar(length=10, default="everyone")
    # editors (feeds.publish holders) | groups (ChannelGroup rows with role "poster")
    posting = Varchar(length=10, default="editors")
    comments_enabled = Boolean(default=True)
    reactions_enabled = Boolean(default=True)
    created_at = Timestamptz()
    archived_at = Timestamptz(null=True, default=None)
    # How many of its posts are counted as live (service/tallies.py keeps it).
    posts_counted = Integer(default=0)


class ChannelGroup(Table, tablename="channel_group"):
    """A group in a channel's audience, or among those who may post to it."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    channel = ForeignKey(Channel, on_delete=OnDelete.cascade, null=False, index=True)
    group = ForeignKey(Group, on_delete=OnDelete.cascade, null=False, index=True)
    role = Varchar(length=10)  # audience | poster


class Post(Table, tablename="post"):
    """A news post: Markdown as written and the sanitised HTML rendered from it."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    channel = ForeignKey(Channel, on_delete=OnDelete.cascade, null=False, index=True)
    author = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    title = Varchar(length=200)
    body_md = Text()
    body_html = Text()
    # The timeline orders by this: creation time, or the scheduled time.
    publish_at = Timestamptz(index=True)
    # Set once the "published" event went out (at once, or when publish_at arrived).
    announced_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    pinned = Boolean(default=False)
    attachment_ids = JSON(default="[]")
    requires_ack = Boolean(default=False)
    ack_due_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    edited_at = Timestamptz(null=True, default=None)
    deleted_at = Timestamptz(null=True, default=None)
    # In the kept unread counts: live when last settled (service/tallies.py).
    counted = Boolean(default=False)


class Comment(Table, tablename="post_comment"):
    """A comment, or a reply to one (one level)."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    post = ForeignKey(Post, on_delete=OnDelete.cascade, null=False, index=True)
    parent: ForeignKey[Any] = ForeignKey(
        "self", on_delete=OnDelete.cascade, null=True, default=None
    )
    author = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    body = Text()
    created_at = Timestamptz()
    edited_at = Timestamptz(null=True, default=None)
    deleted_at = Timestamptz(null=True, default=None)


class Reaction(Table, tablename="post_reaction"):
    """One emoji of one person on one post."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    post = ForeignKey(Post, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    emoji = Varchar(length=16)
    created_at = Timestamptz()


class PostRead(Table, tablename="post_read"):
    """That a person read a post (first time)."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    post = ForeignKey(Post, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    read_at = Timestamptz()


class ReadTally(Table, tablename="feed_read_tally"):
    """How many counted posts of a channel a person has read (service/tallies.py): their
    unread count there is the channel's counted posts less this. One row per person and
    channel they read in, none for the others."""

    id = BigSerial(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    channel = ForeignKey(Channel, on_delete=OnDelete.cascade, null=False)
    reads = Integer(default=0)


class Acknowledgement(Table, tablename="post_ack"):
    """That a person acknowledged a mandatory post."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    post = ForeignKey(Post, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    acked_at = Timestamptz()


class Media(Table, tablename="media"):
    """An uploaded file (image or PDF) of one org; usable once its bytes are verified."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    uploader = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    # Storage key org-id/media-id: made by us, so no client file name becomes a path.
    key = Varchar(length=100, unique=True)
    filename = Varchar(length=200)
    content_type = Varchar(length=100)
    size = BigInt()
    status = Varchar(length=10, default="pending")  # pending | ready
    created_at = Timestamptz()
