"""Request and response bodies of chat."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from staffroom.accounts.schemas import Input

UserIds = Annotated[list[uuid.UUID], Meta(max_length=1000)]
ClientMsgId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
# The byte limit (8 KB by default) is the service's; this only bounds the JSON string.
Body = Annotated[str, Meta(max_length=65536)]


class ConversationIn(Input):
    kind: Literal["direct", "group", "announcement"]
    # direct: exactly the other person; group/announcement: the first members
    user_ids: UserIds
    title: Annotated[str, Meta(max_length=120)] = ""


class ConversationPatch(Input):
    title: Annotated[str, Meta(min_length=1, max_length=120)] | UnsetType = UNSET


class MembersIn(Input):
    user_ids: Annotated[list[uuid.UUID], Meta(min_length=1, max_length=1000)]
    role: Literal["member", "admin"] = "member"


class MemberOut(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    display_name: str
    role: str


class MemberPage(msgspec.Struct, kw_only=True):
    items: list[MemberOut]
    next_cursor: str | None


class ConversationOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: str
    title: str
    # All members of a conversation of up to 50, else the first 50 to join: the rest come
    # from GET /api/v1/conversations/{id}/members.
    members: list[MemberOut]
    member_count: int
    my_role: str
    last_seq: int
    read_seq: int
    unread: int
    last_message_at: datetime | None
    created_at: datetime


class ConversationList(msgspec.Struct, kw_only=True):
    items: list[ConversationOut]
    next_cursor: str | None


class MessageIn(Input):
    client_msg_id: ClientMsgId
    body: Body = ""
    attachment_id: uuid.UUID | None = None


class MessagePatch(Input):
    body: Body


class MessageOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID | None
    sender_name: str | None
    client_msg_id: str
    body: str | None
    attachment_id: uuid.UUID | None
    created_at: datetime
    edited_at: datetime | None
    deleted: bool


class MessagePage(msgspec.Struct, kw_only=True):
    items: list[MessageOut]
    # Older messages: pass as `before`; None at the start of the conversation.
    next_before: int | None


# A message's position (seq) is a bigint; the largest one every JSON client reads exactly
# (JavaScript's Number.MAX_SAFE_INTEGER) bounds what a client may send.
MAX_SAFE_INTEGER = 2**53 - 1


class ReadIn(Input):
    seq: Annotated[int, Meta(ge=0, le=MAX_SAFE_INTEGER)]


class ReadOut(msgspec.Struct, kw_only=True):
    read_seq: int
    unread: int


class PubNubChannel(msgspec.Struct, kw_only=True):
    conversation_id: uuid.UUID
    channel: str
    cipher_key: str


class PubNubInbox(msgspec.Struct, kw_only=True):
    """The person's own channel: conversation.joined / conversation.left events (when
    one arrives, ask for credentials again to get the new channel and its key)."""

    channel: str
    cipher_key: str


class PubNubCredentials(msgspec.Struct, kw_only=True):
    subscribe_key: str
    user_id: str
    token: str
    expires_at: datetime
    channels: list[PubNubChannel]
    inbox: PubNubInbox


class CredentialsOut(msgspec.Struct, kw_only=True):
    relay: Literal["pubnub", "websocket"]
    # Always available: the built-in relay (first message {"type":"auth","access_token":…}).
    websocket_url: str
    pubnub: PubNubCredentials | None = None
