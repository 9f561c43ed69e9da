"""Request and response bodies of feeds (msgspec Structs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from staffroom.accounts.schemas import Input
from staffroom.core.web import DateTimeIn

# The fixed reaction set: enough to react, too few to be a chat channel of its own.
Emoji = Literal["👍", "❤️", "🎉", "😂", "😮", "😢", "🙏", "👏"]
EMOJIS: tuple[str, ...] = Emoji.__args__  # type: ignore[attr-defined]
Groups = Annotated[list[uuid.UUID], Meta(max_length=200)]
ChannelName = Annotated[str, Meta(min_length=1, max_length=120)]
Description = Annotated[str, Meta(max_length=1000)]
Title = Annotated[str, Meta(min_length=1, max_length=200)]
Body = Annotated[str, Meta(min_length=1, max_length=50_000)]
CommentBody = Annotated[str, Meta(min_length=1, max_length=5_000)]


class ChannelIn(Input):
    name: ChannelName
    description: Description = ""
    image_media_id: uuid.UUID | None = None
    audience: Literal["everyone", "groups"] = "everyone"
    audience_group_ids: Groups = []
    posting: Literal["editors", "groups"] = "editors"
    poster_group_ids: Groups = []
    comments_enabled: bool = True
    reactions_enabled: bool = True


class ChannelPatch(Input):
    name: ChannelName | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    image_media_id: uuid.UUID | UnsetType | None = UNSET
    audience: Literal["everyone", "groups"] | UnsetType = UNSET
    audience_group_ids: Groups | UnsetType = UNSET
    posting: Literal["editors", "groups"] | UnsetType = UNSET
    poster_group_ids: Groups | UnsetType = UNSET
    comments_enabled: bool | UnsetType = UNSET
    reactions_enabled: bool | UnsetType = UNSET


class ChannelOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    description: str
    image_media_id: uuid.UUID | None
    audience: str
    audience_group_ids: list[uuid.UUID]
    posting: str
    poster_group_ids: list[uuid.UUID]
    comments_enabled: bool
    reactions_enabled: bool
    can_post: bool
    unread: int
    created_at: datetime


class ChannelList(msgspec.Struct):
    items: list[ChannelOut]


class GroupChannelOut(msgspec.Struct, kw_only=True):
    """A channel naming a group, and whether the group is all it names (what deleting
    the group would leave: a channel only moderators see, or only they post to)."""

    id: uuid.UUID
    name: str
    audience: bool
    posting: bool
    only_audience_group: bool
    only_poster_group: bool


class GroupChannelList(msgspec.Struct):
    items: list[GroupChannelOut]


Attachments = Annotated[list[uuid.UUID], Meta(max_length=20)]


class PostIn(Input):
    title: Title
    body: Body
    attachment_ids: Attachments = []
    publish_at: DateTimeIn | None = None
    expires_at: DateTimeIn | None = None
    pinned: bool = False
    requires_ack: bool = False
    ack_due_at: DateTimeIn | None = None


class PostPatch(Input):
    title: Title | UnsetType = UNSET
    body: Body | UnsetType = UNSET
    attachment_ids: Attachments | UnsetType = UNSET
    expires_at: DateTimeIn | UnsetType | None = UNSET
    pinned: bool | UnsetType = UNSET
    requires_ack: bool | UnsetType = UNSET
    ack_due_at: DateTimeIn | UnsetType | None = UNSET


class PostOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    channel_id: uuid.UUID
    author_id: uuid.UUID | None
    author_name: str | None
    title: str
    body_md: str
    body_html: str
    attachment_ids: list[uuid.UUID]
    publish_at: datetime
    expires_at: datetime | None
    pinned: bool
    requires_ack: bool
    ack_due_at: datetime | None
    created_at: datetime
    edited_at: datetime | None
    reactions: dict[str, int]
    my_reactions: list[str]
    comment_count: int
    read: bool
    acknowledged: bool


class FeedPage(msgspec.Struct, kw_only=True):
    items: list[PostOut]
    next_cursor: str | None
    # Unread live posts per channel id, exact up to 1,000 (1,000 means "1,000 or more").
    unread_by_channel: dict[str, int]


class CommentIn(Input):
    body: CommentBody
    parent_id: uuid.UUID | None = None


class CommentPatch(Input):
    body: CommentBody


class CommentOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    post_id: uuid.UUID
    parent_id: uuid.UUID | None
    author_id: uuid.UUID | None
    author_name: str | None
    body: str
    created_at: datetime
    edited_at: datetime | None
    deleted: bool


class CommentPage(msgspec.Struct):
    items: list[CommentOut]
    next_cursor: str | None


class ReactionIn(Input):
    emoji: Emoji


class PersonRef(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    display_name: str
    login: str


class StatsOut(msgspec.Struct, kw_only=True):
    audience_size: int
    reads: int
    acknowledgements: int
    read_pct: float
    ack_pct: float
    not_acknowledged_count: int
    not_acknowledged: list[PersonRef]


class UploadIn(Input):
    filename: Annotated[str, Meta(min_length=1, max_length=255)]
    content_type: Annotated[str, Meta(min_length=1, max_length=100)]
    size: Annotated[int, Meta(ge=1)]


class UploadTargetOut(msgspec.Struct, kw_only=True):
    method: Literal["POST", "PUT"]
    url: str
    fields: dict[str, str]


class UploadOut(msgspec.Struct, kw_only=True):
    media_id: uuid.UUID
    upload: UploadTargetOut
    max_bytes: int


class MediaOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    status: Literal["pending", "ready"]
    download_url: str | None
    created_at: datetime
