"""What a device needs to receive chat: a PubNub token for exactly the user's conversation
channels, read-only, bound to the user's uuid, at most 15 minutes; or the WebSocket URL.

Tokens are kept sealed so removal from a conversation, deactivation and erasure revoke
them early (through the outbox, so a PubNub outage delays the revocation, never drops it).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from staffroom.chat.schemas import CredentialsOut, PubNubChannel, PubNubCredentials, PubNubInbox
from staffroom.chat.service import access, outbox
from staffroom.chat.tables import Conversation, DeviceToken, Member
from staffroom.core import clock
from staffroom.core.context import Principal
from staffroom.core.errors import Unavailable
from staffroom.core.limits import CHAT_CREDENTIALS
from staffroom.core.realtime import RelayUnavailable
from staffroom.core.realtime.pubnub import MAX_TOKEN_MINUTES
from staffroom.core.runtime import Runtime


def pubnub_uuid(org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The PubNub user id of a person: carries the org id, as channel names do."""
    return f"staffroom.{org_id}.{user_id}"


async def for_device(rt: Runtime, principal: Principal) -> CredentialsOut:
    """Credentials for the caller's device."""
    ws_url = rt.settings.public_url.rstrip("/").replace("http", "ws", 1) + "/api/v1/chat/ws"
    if rt.pubnub is None:
        return CredentialsOut(relay="websocket", websocket_url=ws_url)
    await rt.limiter.hit(*CHAT_CREDENTIALS.at(rt.settings, principal.user_id))
    memberships = await Member.select(Member.conversation).where(
        (Member.user == principal.user_id) & (Member.org == principal.org_id)
    )
    conversations = (
        await Conversation.select().where(
            Conversation.id.is_in([m["conversation"] for m in memberships])
            & (Conversation.org == principal.org_id)
        )
        if memberships
        else []
    )
    channels = [c["channel"] for c in conversations]
    if len(channels) > rt.settings.pubnub_max_channels:
        # Too many to multiplex on PubNub: this person's events reach them on the socket
        # (every event goes there too); no token is granted.
        return CredentialsOut(relay="websocket", websocket_url=ws_url)
    minutes = max(1, min(rt.settings.pubnub_token_minutes, MAX_TOKEN_MINUTES))
    inbox = access.inbox_channel(principal.org_id, principal.user_id)
    user_uuid = pubnub_uuid(principal.org_id, principal.user_id)
    try:
        # Their own inbox channel too: it tells them of conversations they join or leave.
        token = await rt.pubnub.grant(user_uuid, [*channels, inbox], minutes)
    except RelayUnavailable as exc:
        raise Unavailable("relay_unavailable", "Chat delivery is unavailable; retry.") from exc
    now = clock.utcnow()
    expires_at = now + timedelta(minutes=minutes)
    token_id = uuid.uuid4()
    await DeviceToken.insert(
        DeviceToken(
            id=token_id,
            org=principal.org_id,
            user=principal.user_id,
            token=rt.keys.encrypt(token.encode(), access.token_aad(token_id)),
            expires_at=expires_at,
            created_at=now,
        )
    )
    return CredentialsOut(
        relay="pubnub",
        websocket_url=ws_url,
        pubnub=PubNubCredentials(
            subscribe_key=rt.pubnub.subscribe_key,
            user_id=user_uuid,
            token=token,
            expires_at=expires_at,
            channels=[
                PubNubChannel(
                    conversation_id=c["id"],
                    channel=c["channel"],
                    cipher_key=access.cipher_key(rt.keys, c["org"], c["channel"], c["cipher_key"]),
                )
                for c in conversations
            ],
            inbox=PubNubInbox(
                channel=inbox,
                cipher_key=access.inbox_cipher_key(rt.keys, principal.org_id, principal.user_id),
            ),
        ),
    )


async def on_deactivation(org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """A deactivated person's devices stop receiving at once."""
    await revoke_for_user(org_id, user_id)


async def revoke_for_user(
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID | None = None,
    position: int = 0,
) -> int:
    """Queue the revocation of every live token of a person (inside the change's
    transaction; also the deactivation hook); returns how many."""
    now = clock.utcnow()
    live = await (
        DeviceToken.update({DeviceToken.revoked_at: now})
        .where(
            (DeviceToken.user == user_id)
            & (DeviceToken.org == org_id)
            & DeviceToken.revoked_at.is_null()
            & (DeviceToken.expires_at > now)
        )
        .returning(DeviceToken.id)
    )
    for row in live:
        await outbox.enqueue_revocation(org_id, row["id"], conversation_id, position)
    return len(live)
