"""Messages: send (idempotent per client_msg_id), history, edit, delete, read position.

A send writes the message and its outbox rows in one transaction: once the API answered,
the message is stored and will be relayed, whatever happens to the relay meanwhile.
"""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.chat.schemas import MessageIn, MessageOut, MessagePage, MessagePatch, ReadOut
from staffroom.chat.service import access, hooks, outbox, payloads, render
from staffroom.chat.tables import Conversation, Member, Message
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.engine import unique_or
from staffroom.core.db.sql import as_uuid, bulk_insert, fetch, transaction
from staffroom.core.errors import Conflict, Forbidden, Invalid, NotFound
from staffroom.core.runtime import Runtime

_READ_OWN = "UPDATE chat_member SET read_seq = {} WHERE id = {}"


def _clean_body(rt: Runtime, body: str, has_attachment: bool) -> str:
    body = body.strip()
    if not body and not has_attachment:
        raise Invalid("empty_message", "A message needs text or an attachment.")
    limit = rt.settings.chat_max_message_bytes
    if len(body.encode()) > limit:
        raise Invalid("message_too_long", f"A message is at most {limit} bytes of text.")
    return body


def _digest(rt: Runtime, conversation_id: uuid.UUID, body: str, attachment: Any) -> str:
    # A keyed digest: a plain hash of a short message would give its text away.
    return rt.keys.digest(f"{conversation_id}\x00{attachment}\x00{body}", purpose="chat-message")


async def _by_client_id(
    principal: Principal, conversation_id: uuid.UUID, client_msg_id: str
) -> dict[str, Any] | None:
    result: dict[str, Any] | None = (
        await Message.select()
        .where(
            (Message.conversation == conversation_id)
            & (Message.sender == principal.user_id)
            & (Message.client_msg_id == client_msg_id)
        )
        .first()
    )
    return result


def _same_send(row: dict[str, Any], digest: str) -> dict[str, Any]:
    if row["content_digest"] != digest:
        raise Conflict(
            "client_msg_id_reused", "This client_msg_id was already used for another message."
        )
    return row


async def send(
    rt: Runtime,
    principal: Principal,
    conversation_id: uuid.UUID,
    data: MessageIn,
) -> tuple[MessageOut, bool]:
    """Store and queue a message; (message, created). A retry returns the first one."""
    conversation, member = await access.membership(principal, conversation_id)
    access.may_write(conversation, member)
    body = _clean_body(rt, data.body, data.attachment_id is not None)
    digest = _digest(rt, conversation_id, body, data.attachment_id)
    if data.attachment_id is not None:
        # A retried send must find its message before the attachment (now in use) is
        # checked again. Text-only sends skip the look-up: the unique key on
        # (conversation, sender, client_msg_id) catches a retry below.
        earlier = await _by_client_id(principal, conversation_id, data.client_msg_id)
        if earlier is not None:
            return (await render.messages_out(rt, [_same_send(earlier, digest)]))[0], False
        await hooks.check_attachment(rt, principal, data.attachment_id)
    message_id = uuid.uuid4()
    now = clock.utcnow()
    sealed = render.seal_body(rt, conversation_id, message_id, body)
    message = Message(
        id=message_id,
        org=principal.org_id,
        conversation=conversation_id,
        sender=principal.user_id,
        client_msg_id=data.client_msg_id,
        content_digest=digest,
        body=sealed,
        key_id=rt.keys.active_key_id,
        attachment_id=data.attachment_id,
        created_at=now,
    )
    with unique_or(None) as clash:
        async with transaction(Conversation):
            seq, position = await outbox.bump(conversation_id, message=True, now=now)
            message.seq = seq
            # Hand-written like the rest of a send's statements: it runs on every message.
            await bulk_insert(Message, [message])
            # The sender has read their own message.
            await fetch(Member, _READ_OWN, seq, member.id)
            await outbox.enqueue(
                rt,
                principal.org_id,
                conversation_id,
                position,
                "message.created",
                message_id=message_id,
            )
    if clash.violation is not None:
        # A retry, or the same send arriving twice at once: the first one is stored.
        earlier = await _by_client_id(principal, conversation_id, data.client_msg_id)
        if earlier is None:
            raise clash.violation
        return (await render.messages_out(rt, [_same_send(earlier, digest)]))[0], False
    # The stored row is what was inserted: no need to read it back.
    names = {principal.user_id: member.display_name}
    out = (await render.messages_out(rt, [message.to_dict()], names))[0]
    payloads.remember(rt, message_id, position, conversation, out)
    outbox.wake(rt)
    return out, True


async def history(
    rt: Runtime,
    principal: Principal,
    conversation_id: uuid.UUID,
    before: int | None,
    after: int | None,
    limit: int,
) -> MessagePage:
    """Newest first (or, with `after`, the ones after a seq oldest first, to catch up)."""
    await access.membership(principal, conversation_id)
    if (before is not None and before < 0) or (after is not None and after < 0):
        raise Invalid("invalid_position", "Positions (before, after) are 0 or more.")
    if before is not None and after is not None:
        raise Invalid("before_or_after", "Use either before or after, not both.")
    if after is not None:
        sql, position = _PAGE_AFTER, after
    else:  # every seq is positive: "below the largest bigint" is the newest page
        sql, position = _PAGE_BEFORE, _NEWEST if before is None else before
    found = await fetch(Message, sql, conversation_id, principal.org_id, position, limit + 1)
    rows = [_message_row(r) for r in found[:limit]]
    names = {r["sender"]: r["sender_name"] for r in rows if r["sender"] is not None}
    more = len(found) > limit
    next_before = rows[-1]["seq"] if rows and more and after is None else None
    return MessagePage(items=await render.messages_out(rt, rows, names), next_before=next_before)


# A page of history is one hand-written statement with the senders' names (Piccolo built
# two selects, ~1 ms of a worker's Python a page): catching up after a position, oldest
# first, or going back before one, newest first.
_PAGE = (
    "SELECT m.id, m.conversation, m.seq, m.sender, m.client_msg_id, m.body, m.key_id,"
    " m.attachment_id, m.created_at, m.edited_at, m.deleted_at, u.display_name AS sender_name"
    " FROM chat_message m LEFT JOIN app_user u ON u.id = m.sender"
    " WHERE m.conversation = {} AND m.org = {} AND m.seq "
)
_PAGE_AFTER = _PAGE + "> {} ORDER BY m.seq ASC LIMIT {}"
_PAGE_BEFORE = _PAGE + "< {} ORDER BY m.seq DESC LIMIT {}"
_NEWEST = 2**63 - 1


def _message_row(row: dict[str, Any]) -> dict[str, Any]:
    """A page row with its ids as UUIDs (SQLite gives a joined select's ids as text)."""
    for key in ("id", "conversation", "sender", "attachment_id"):
        if row[key] is not None:
            row[key] = as_uuid(row[key])
    return row


async def _own_message(principal: Principal, message_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await Message.select()
        .where((Message.id == message_id) & (Message.org == principal.org_id))
        .first()
    )
    if row is None:
        raise NotFound("message_not_found", "No such message.")
    return row


async def edit(
    rt: Runtime, principal: Principal, message_id: uuid.UUID, data: MessagePatch
) -> MessageOut:
    """Change one's own message."""
    row = await _own_message(principal, message_id)
    conversation, member = await access.membership(principal, row["conversation"])
    if row["sender"] != principal.user_id:
        raise Forbidden("not_your_message", "Only the sender may edit a message.")
    if row["deleted_at"] is not None:
        raise Conflict("message_deleted", "A deleted message cannot be edited.")
    access.may_write(conversation, member)
    body = _clean_body(rt, data.body, row["attachment_id"] is not None)
    now = clock.utcnow()
    async with transaction(Conversation):
        _, position = await outbox.bump(conversation.id)
        await Message.update(
            {
                Message.body: render.seal_body(rt, conversation.id, message_id, body),
                Message.key_id: rt.keys.active_key_id,
                Message.edited_at: now,
            }
        ).where(Message.id == message_id)
        await outbox.enqueue(
            rt,
            principal.org_id,
            conversation.id,
            position,
            "message.updated",
            message_id=message_id,
        )
    fresh = await Message.select().where(Message.id == message_id).first()
    assert fresh is not None
    out = (await render.messages_out(rt, [fresh]))[0]
    # The event of this edit carries the edited message (not the one first sent).
    payloads.remember(rt, message_id, position, conversation, out)
    outbox.wake(rt)
    return out


async def delete(
    rt: Runtime, principal: Principal, message_id: uuid.UUID, ctx: RequestContext
) -> None:
    """Delete one's own message, or any as a moderator (audited); a tombstone stays."""
    row = await _own_message(principal, message_id)
    moderator = principal.can("chat.moderate")
    if row["sender"] != principal.user_id:
        if not moderator:
            await access.membership(principal, row["conversation"])  # 404 for outsiders
            raise Forbidden("not_your_message", "Only the sender or a moderator may delete it.")
    else:
        await access.membership(principal, row["conversation"])
    if row["deleted_at"] is not None:
        return
    async with transaction(Conversation):
        _, position = await outbox.bump(row["conversation"])
        await Message.update(
            {
                Message.body: "",
                Message.attachment_id: None,
                Message.deleted_at: clock.utcnow(),
                Message.deleted_by: principal.user_id,
            }
        ).where(Message.id == message_id)
        await outbox.enqueue(
            rt,
            principal.org_id,
            row["conversation"],
            position,
            "message.deleted",
            message_id=message_id,
        )
    # Its event reads the tombstone; nothing kept of the text may go out again.
    payloads.forget(rt, message_id)
    outbox.wake(rt)
    if row["sender"] != principal.user_id:
        await audit.by(
            principal,
            ctx,
            "chat.message_moderated",
            ("message", message_id),
            {"conversation_id": str(row["conversation"]), "sender_id": str(row["sender"])},
        )


async def mark_read(principal: Principal, conversation_id: uuid.UUID, seq: int) -> ReadOut:
    """Move the caller's read position forward (never back, never past the end)."""
    conversation, member = await access.membership(principal, conversation_id)
    target = min(seq, conversation.last_seq)
    if target > member.read_seq:
        await Member.update({Member.read_seq: target}).where(
            (Member.id == member.id) & (Member.read_seq < target)
        )
    read_seq = max(target, member.read_seq)
    unread = await Message.count().where(
        (Message.conversation == conversation_id)
        & (Message.seq > read_seq)
        & Message.deleted_at.is_null()
        & ((Message.sender != principal.user_id) | Message.sender.is_null())
    )
    return ReadOut(read_seq=read_seq, unread=unread)
