"""Chat tables. Message bodies are AES-256-GCM ciphertexts (core/crypto): the database
never holds what people wrote in the clear."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from staffroom.accounts.tables import Org, User


class Conversation(Table, tablename="chat_conversation"):
    """A direct (two people), group or announcement conversation of one org."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    kind = Varchar(length=12)  # direct | group | announcement
    title = Varchar(length=120, default="")
    # "<smaller user id>:<larger user id>" for direct conversations: unique per org, so
    # creating a direct conversation again finds the existing one.
    direct_key = Varchar(length=80, null=True, default=None)
    # The PubNub channel: carries the org id, plus a random part (no guessable names).
    channel = Varchar(length=120, unique=True)
    # The per-conversation PubNub cipher key, sealed with the data key.
    cipher_key = Text()
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    # The latest message's sequence number and the latest relayed event's position.
    # Every change bumps last_event in its transaction: the row lock orders the outbox.
    last_seq = BigInt(default=0)
    last_event = BigInt(default=0)
    last_message_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class Member(Table, tablename="chat_member"):
    """Someone in a conversation, with their read position."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    conversation = ForeignKey(Conversation, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    role = Varchar(length=10, default="member")  # admin | member
    read_seq = BigInt(default=0)
    joined_at = Timestamptz()


class Message(Table, tablename="chat_message"):
    """One message: sealed body, bound by AAD to its conversation and id."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    conversation = ForeignKey(Conversation, on_delete=OnDelete.cascade, null=False)
    seq = BigInt()
    sender = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    client_msg_id = Varchar(length=64)
    # HMAC of what was sent: a retried send is recognised, a different one refused.
    content_digest = Varchar(length=64)
    body = Text(default="")  # sealed; empty once deleted
    key_id = Varchar(length=32, default="")
    attachment_id = UUID(null=True, default=None)
    created_at = Timestamptz(index=True)
    edited_at = Timestamptz(null=True, default=None)
    deleted_at = Timestamptz(null=True, default=None)
    deleted_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)


class Outbox(Table, tablename="chat_outbox"):
    """An event to relay, written in the transaction that made it; kept until published.

    One row per relay target (socket, pubnub), so a target that is down is retried
    without publishing twice to the one that took it.
    """

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    conversation = ForeignKey(Conversation, on_delete=OnDelete.cascade, null=True, default=None)
    # Publication order within a conversation (the conversation's event counter).
    position = BigInt()
    target = Varchar(length=10)  # socket | pubnub
    event = Varchar(length=30)
    message = ForeignKey(Message, on_delete=OnDelete.cascade, null=True, default=None)
    # Only ids and names, never a message body.
    data = JSON(default="{}")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    last_error = Varchar(length=300, default="")
    published_at = Timestamptz(null=True, default=None, index=True)
    # Given up on (refused by the relay, or failing every try): its stream goes on without
    # it; the message itself stays in the conversation.
    abandoned_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class DeviceToken(Table, tablename="chat_device_token"):
    """A PubNub token granted to a user (sealed), kept to revoke it early."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    token = Text()
    expires_at = Timestamptz(index=True)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
