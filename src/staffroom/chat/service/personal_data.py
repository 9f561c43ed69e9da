"""Chat's share of a person's GDPR export and erasure (see core/personal_data.py): the
conversations they are in and the messages they wrote, opened for them. Erasure ends their
memberships and device tokens; their messages stay readable to the others in the
conversation, shown as from a deleted user."""

from __future__ import annotations

import uuid

from staffroom.chat.service import render
from staffroom.chat.tables import DeviceToken, Member, Message
from staffroom.core.personal_data import Listing, Rows, batches
from staffroom.core.runtime import Runtime


async def export_for(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> list[Listing]:
    """conversations.json and messages.json (bodies decrypted)."""

    async def opened(rows: Rows) -> Rows:
        return [render.as_json(m) for m in await render.messages_out(rt, rows)]

    mine = (Message.sender == user_id) & (Message.org == org_id)
    return [
        Listing(
            "conversations.json",
            "the chat conversations you are in",
            batches(Member, Member.user == user_id),
        ),
        Listing(
            "messages.json",
            "chat messages you wrote (decrypted for you)",
            batches(Message, mine, opened),
        ),
    ]


async def erase(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Their memberships and device tokens (the tokens are revoked at PubNub by the
    deactivation hooks, which run first)."""
    for table in (Member, DeviceToken):
        await table.delete().where(table.user == user_id)
