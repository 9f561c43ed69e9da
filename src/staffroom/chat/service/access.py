"""Who may see and change a conversation. Non-members get 404, never 403: a conversation's
existence is private to its members."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from staffroom.accounts.service import people
from staffroom.chat.service.rows import ConversationRow, MemberRow
from staffroom.chat.tables import Member, Message
from staffroom.core.context import Principal
from staffroom.core.crypto import KeyRing
from staffroom.core.db.rows import row_as
from staffroom.core.db.sql import fetch
from staffroom.core.errors import Forbidden, Invalid, NotFound

NO_CONVERSATION = "No such conversation."


def not_found() -> NotFound:
    return NotFound("conversation_not_found", NO_CONVERSATION)


# Every chat call asks this first: one hand-written statement for both rows.
_MEMBERSHIP = (
    "SELECT c.*, m.id AS member_id, m.role AS member_role, m.read_seq AS member_read_seq,"
    " m.joined_at AS member_joined_at, u.display_name AS member_display_name"
    " FROM chat_member m JOIN chat_conversation c ON c.id = m.conversation"
    ' JOIN app_user u ON u.id = m."user"'
    ' WHERE m.conversation = {} AND m."user" = {} AND m.org = {} AND c.org = {}'
)


async def membership(
    principal: Principal, conversation_id: uuid.UUID
) -> tuple[ConversationRow, MemberRow]:
    """(conversation, the caller's member row with their display name), or 404."""
    rows = await fetch(
        Member, _MEMBERSHIP, conversation_id, principal.user_id, principal.org_id, principal.org_id
    )
    if not rows:
        raise not_found()
    # Both from the one row: the conversation's columns, and the member's under `member_`.
    return row_as(ConversationRow, rows[0]), row_as(MemberRow, rows[0])


# Conversations holding a file in a live message (a deletion drops the attachment), and
# whether the caller is a member of any of them: removal from a conversation ends access.
_MEDIA_USE = (
    "SELECT m.conversation, EXISTS (SELECT 1 FROM chat_member b WHERE b.conversation ="
    ' m.conversation AND b."user" = {} AND b.org = {}) AS is_member'
    " FROM chat_message m WHERE m.attachment_id = {} AND m.org = {}"
)


async def media_use(principal: Principal, media_id: uuid.UUID) -> bool | None:
    """For feeds' media check: None when no message holds the file, else whether the
    caller is a member of a conversation where one does."""
    rows = await fetch(
        Message, _MEDIA_USE, principal.user_id, principal.org_id, media_id, principal.org_id
    )
    if not rows:
        return None
    return any(bool(r["is_member"]) for r in rows)


def require_admin(conversation: ConversationRow, member: MemberRow) -> None:
    """Changing a group's title or members is for its admins."""
    if conversation.kind == "direct":
        raise Forbidden("direct_conversation", "A direct conversation has exactly two people.")
    if member.role != "admin":
        raise Forbidden("not_conversation_admin", "Only the conversation's admins may do this.")


def may_write(conversation: ConversationRow, member: MemberRow) -> None:
    """In an announcement conversation only admins write."""
    if conversation.kind == "announcement" and member.role != "admin":
        raise Forbidden("announcement_only", "Only admins write in an announcement conversation.")


async def colleagues(principal: Principal, user_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The given people, who must all be active members of the caller's org."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    if len(await people.active_ids(principal.org_id, wanted)) != len(wanted):
        # The same answer for another org's people and for ids that do not exist.
        raise Invalid("unknown_user", "Add only active people of your organisation.")
    return wanted


def channel_name(org_id: uuid.UUID) -> str:
    """A PubNub channel name: the org id and a random part."""
    return f"staffroom.{org_id}.chat.{secrets.token_hex(12)}"


def _cipher_aad(org_id: uuid.UUID, channel: str) -> bytes:
    return f"chat-cipher:{org_id}:{channel}".encode()


def new_cipher_key(keys: KeyRing, org_id: uuid.UUID, channel: str) -> str:
    """A random PubNub cipher key for one conversation, sealed for storage."""
    return keys.encrypt(secrets.token_urlsafe(32).encode(), _cipher_aad(org_id, channel))


def cipher_key(keys: KeyRing, org_id: uuid.UUID, channel: str, sealed: str) -> str:
    """A conversation's PubNub cipher key in the clear (for publishing and devices), from
    its org, channel and sealed `cipher_key` column."""
    return keys.decrypt(sealed, _cipher_aad(org_id, channel)).decode()


def token_aad(token_id: uuid.UUID) -> bytes:
    """Binds a sealed PubNub token to its row."""
    return f"pubnub-token:{token_id}".encode()


def open_token(keys: KeyRing, row: dict[str, Any]) -> str:
    """A stored PubNub token in the clear (to revoke it)."""
    return keys.decrypt(row["token"], token_aad(row["id"])).decode()


def inbox_channel(org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """A person's own PubNub channel: their membership changes (read in their token only)."""
    return f"staffroom.{org_id}.inbox.{user_id}"


def inbox_cipher_key(keys: KeyRing, org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The cipher key of a person's inbox channel. Derived (HMAC under the server's secret
    key), not stored: as unpredictable as a random one, the same on every instance, and
    one per person, so nobody else's key opens it."""
    return keys.digest(f"{org_id}:{user_id}", purpose="pubnub-inbox")


def user_topic(org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """A person's topic on the built-in relay: chat events reach them there."""
    return f"org:{org_id}:user:{user_id}"


async def topics_for(principal: Principal) -> list[str]:
    """The chat topics of a WebSocket: the user's own (membership is checked per event)."""
    return [user_topic(principal.org_id, principal.user_id)]
