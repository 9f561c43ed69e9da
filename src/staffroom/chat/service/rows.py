"""Chat's rows on the hot paths, typed (`core/db/rows.py`): a conversation and the caller's
membership of it, read by every send, read and relayed event."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class ConversationRow(msgspec.Struct, frozen=True, kw_only=True):
    """The chat_conversation columns a send, a read and a relayed event use (payloads keeps
    it with a fresh message: frozen, so what is kept is what was read)."""

    id: uuid.UUID
    org: uuid.UUID
    kind: str
    title: str
    channel: str
    cipher_key: str  # sealed (`access.cipher_key` opens it)
    last_seq: int
    last_message_at: datetime | None
    created_at: datetime


class MyConversation(ConversationRow, frozen=True, kw_only=True):
    """A conversation in the caller's list, with their role and read position in it."""

    my_role: str
    my_read_seq: int


def _member_column(name: str) -> str:
    return f"member_{name}"


class MemberRow(msgspec.Struct, frozen=True, kw_only=True, rename=_member_column):
    """The caller's own chat_member row, with their display name: the `member_*` columns
    of `access._MEMBERSHIP`, beside the conversation's own."""

    id: uuid.UUID
    role: str
    read_seq: int
    joined_at: datetime
    display_name: str
