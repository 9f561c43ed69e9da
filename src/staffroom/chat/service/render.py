"""Messages as clients see them: bodies opened from their ciphertexts, sender names added."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec

from staffroom.accounts.service import members
from staffroom.chat.schemas import MessageOut
from staffroom.core.crypto import DecryptionFailed
from staffroom.core.runtime import Runtime

log = logging.getLogger("staffroom.chat")


def body_aad(conversation_id: uuid.UUID, message_id: uuid.UUID) -> bytes:
    """Binds a sealed body to its conversation and message: moved ciphertexts do not open."""
    return f"chat-message:{conversation_id}:{message_id}".encode()


def seal_body(rt: Runtime, conversation_id: uuid.UUID, message_id: uuid.UUID, body: str) -> str:
    """The stored form of a message body (AES-256-GCM under the active data key)."""
    return rt.keys.encrypt(body.encode(), body_aad(conversation_id, message_id))


def open_body(rt: Runtime, row: dict[str, Any]) -> str | None:
    """The body of a stored message; None when it cannot be opened (a lost key or a
    tampered row), which fails closed for that message and keeps the rest readable."""
    if not row["body"]:
        return ""
    try:
        return rt.keys.decrypt(row["body"], body_aad(row["conversation"], row["id"])).decode()
    except DecryptionFailed:
        log.error("chat message %s could not be decrypted (key %s)", row["id"], row["key_id"])
        return None


async def messages_out(
    rt: Runtime, rows: list[dict[str, Any]], names: dict[uuid.UUID, str] | None = None
) -> list[MessageOut]:
    """Response bodies for messages; deleted ones are tombstones without content. A caller
    that knows the senders' names passes them and saves the look-up."""
    if names is None:
        names = await members.display_names([r["sender"] for r in rows])
    out = []
    for row in rows:
        deleted = row["deleted_at"] is not None
        out.append(
            MessageOut(
                id=row["id"],
                conversation_id=row["conversation"],
                seq=row["seq"],
                sender_id=row["sender"],
                sender_name=names.get(row["sender"]) if row["sender"] else None,
                client_msg_id=row["client_msg_id"],
                body=None if deleted else open_body(rt, row),
                attachment_id=None if deleted else row["attachment_id"],
                created_at=row["created_at"],
                edited_at=row["edited_at"],
                deleted=deleted,
            )
        )
    return out


def as_json(message: MessageOut) -> dict[str, Any]:
    """A message as a JSON-ready dict (relay payloads)."""
    result: dict[str, Any] = msgspec.to_builtins(message)
    return result
