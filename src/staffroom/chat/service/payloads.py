"""What each chat event carries and where it goes: the built-in relay (each member's own
topic) and PubNub (the conversation's channel, sealed with its cipher key). Changes to
someone's own memberships (a conversation created with them, being added or removed, or
leaving) also go to that person alone: their topic on the built-in relay and their inbox
channel at PubNub, so an app hears of a conversation it was not subscribed to yet.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

from staffroom.chat.schemas import MessageOut
from staffroom.chat.service import access, render
from staffroom.chat.service.rows import ConversationRow
from staffroom.chat.tables import Conversation, DeviceToken, Member, Message
from staffroom.core.db.rows import row_as
from staffroom.core.db.sql import as_uuid, fetch
from staffroom.core.realtime import PayloadTooLarge, RelayUnavailable
from staffroom.core.runtime import Runtime

# A person's own membership changes (data: user_id, reason), published to them alone.
JOINED = "conversation.joined"  # reason: created (with them, or by them) or added
LEFT = "conversation.left"  # reason: removed or left
INBOX_EVENTS = (JOINED, LEFT)

# Every relayed event reads these: hand-written, as Piccolo's query building cost more
# than the look-ups.
_CONVERSATION = "SELECT * FROM chat_conversation WHERE id = {}"
_MESSAGE = "SELECT * FROM chat_message WHERE id = {}"
_MEMBERS = 'SELECT "user" AS user_id FROM chat_member WHERE conversation = {}'


# The state a message had after this app's last change to it (a send or an edit), with
# the event position of that change, so its dispatcher publishes the event without
# reading the row back (bounded; another process's dispatcher, or a restart, reads the
# rows). An event uses the entry only when it is the event of that very change: any other
# event of the message (an earlier one published late, or one after a later change made
# elsewhere) reads the row and so carries the state as it is, never an older one. Kept on
# the app's runtime: another app in the process (the tests make several) has its own.
FRESH_MAX = 2000


class FreshMessages(OrderedDict[uuid.UUID, tuple[int, ConversationRow, MessageOut]]):
    """One app's recently changed messages (decrypted), at most FRESH_MAX."""


def remember(
    rt: Runtime,
    message_id: uuid.UUID,
    position: int,
    conversation: ConversationRow,
    out: MessageOut,
) -> None:
    """Keep a message as the change at this event position left it (and its conversation)."""
    fresh = rt.part(FreshMessages)
    fresh.pop(message_id, None)
    fresh[message_id] = (position, conversation, out)
    while len(fresh) > FRESH_MAX:
        fresh.popitem(last=False)


def forget(rt: Runtime, message_id: uuid.UUID) -> None:
    """Drop what is kept of a message (it was deleted: its text must not go out again)."""
    rt.part(FreshMessages).pop(message_id, None)


def _fresh(rt: Runtime, row: dict[str, Any]) -> tuple[ConversationRow, MessageOut] | None:
    if row["message"] is None:
        return None
    kept = rt.part(FreshMessages).get(as_uuid(row["message"]))
    if kept is None or kept[0] != row["position"]:
        return None
    return kept[1], kept[2]


async def publish(rt: Runtime, row: dict[str, Any]) -> None:
    """Publish one outbox row to its target (raises what the relay raised)."""
    if row["event"] == "token.revoke":
        await _revoke(rt, row)
        return
    if row["event"] in INBOX_EVENTS:
        await _to_inbox(rt, row)
        return
    fresh = _fresh(rt, row)
    if fresh is None:
        found = await fetch(Conversation, _CONVERSATION, row["conversation"])
        if not found:  # deleted meanwhile: nothing left to tell
            return
        conversation = row_as(ConversationRow, found[0])
    else:
        conversation = fresh[0]
    conversation_id = conversation.id
    payload: dict[str, Any] = {
        "type": row["event"],
        "event_id": f"{conversation_id}:{row['position']}",
        "conversation_id": str(conversation_id),
        **row["data"],
    }
    if fresh is not None:
        payload["message"] = render.as_json(fresh[1])
    elif row["message"] is not None:
        messages = await fetch(Message, _MESSAGE, row["message"])
        if not messages:  # removed by retention: nothing left to tell
            return
        out = (await render.messages_out(rt, messages))[0]
        payload["message"] = render.as_json(out)
    if row["target"] == "pubnub":
        await _to_pubnub(rt, conversation, payload)
        return
    await _to_members(rt, row, conversation, payload)


async def _to_pubnub(rt: Runtime, conversation: ConversationRow, payload: dict[str, Any]) -> None:
    """The conversation's event on its PubNub channel, sealed with its key."""
    if rt.pubnub is None:
        raise RelayUnavailable("PubNub is not configured any more")
    channel = conversation.channel
    key = access.cipher_key(rt.keys, conversation.org, channel, conversation.cipher_key)
    try:
        await rt.pubnub.publish(channel, payload, key)
    except PayloadTooLarge:
        if "message" not in payload:
            raise
        # Over PubNub's limit (a long message): it goes without its body, which the
        # app fetches from the conversation's messages.
        slim = {**payload, "message": {**payload["message"], "body": None}}
        await rt.pubnub.publish(channel, {**slim, "body_omitted": True}, key)


async def _to_members(
    rt: Runtime, row: dict[str, Any], conversation: ConversationRow, payload: dict[str, Any]
) -> None:
    """The conversation's event to its members' sockets (the built-in relay)."""
    members = await fetch(Member, _MEMBERS, conversation.id)
    audience = {as_uuid(m["user_id"]) for m in members}
    if row["event"] == "member.removed":  # the removed person learns it too
        audience |= {uuid.UUID(u) for u in row["data"]["user_ids"]}
    org_id = conversation.org
    topics = sorted(access.user_topic(org_id, user_id) for user_id in audience)
    await rt.relay.publish_many(topics, payload)


async def _revoke(rt: Runtime, row: dict[str, Any]) -> None:
    token = await DeviceToken.select().where(DeviceToken.id == uuid.UUID(row["data"]["token_id"]))
    if not token or rt.pubnub is None:
        return
    await rt.pubnub.revoke(access.open_token(rt.keys, token[0]))


async def _to_inbox(rt: Runtime, row: dict[str, Any]) -> None:
    org_id, user_id = as_uuid(row["org"]), uuid.UUID(row["data"]["user_id"])
    conversation_id = as_uuid(row["conversation"])
    payload = {
        "type": row["event"],
        # Apart from the conversation's own event of the same change (member.added …).
        "event_id": f"{conversation_id}:{row['position']}:inbox",
        "conversation_id": str(conversation_id),
        "reason": row["data"]["reason"],
    }
    if row["target"] == "pubnub":
        if rt.pubnub is None:
            raise RelayUnavailable("PubNub is not configured any more")
        key = access.inbox_cipher_key(rt.keys, org_id, user_id)
        await rt.pubnub.publish(access.inbox_channel(org_id, user_id), payload, key)
        return
    await rt.relay.publish(access.user_topic(org_id, user_id), payload)
