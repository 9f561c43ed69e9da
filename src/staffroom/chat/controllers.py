"""HTTP routes of chat (HTTP only: every rule is in the service)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, Router, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from staffroom.accounts.guards import requires
from staffroom.chat.schemas import (
    MAX_SAFE_INTEGER,
    ConversationIn,
    ConversationList,
    ConversationOut,
    ConversationPatch,
    CredentialsOut,
    MemberPage,
    MembersIn,
    MessageIn,
    MessageOut,
    MessagePage,
    MessagePatch,
    ReadIn,
    ReadOut,
)
from staffroom.chat.service import conversations, credentials, messages
from staffroom.core.errors import Invalid
from staffroom.core.web import Ctx, Cursor, Limit, Me, Rt, errors

# Positions are bigints; the largest one a JSON client reads exactly (2**53 - 1) bounds
# them (Litestar writes the schema's maximum as a float: 2**63 - 1 became 2**63). Optional
# outside Annotated: Litestar keeps the bounds in the OpenAPI schema only so, and then
# does not enforce them: the service refuses negatives, `_positions` larger values
# (SQLite's driver raised OverflowError on what no bigint holds).
MAX_SEQ = MAX_SAFE_INTEGER
Seq = Annotated[int, Parameter(ge=0, le=MAX_SEQ)] | None


def _positions(*values: int | None) -> None:
    """Refuse a position above the largest bigint, as the schema says."""
    if any(v is not None and v > MAX_SEQ for v in values):
        raise Invalid("invalid_position", f"Positions (before, after) are at most {MAX_SEQ}.")


class ConversationsController(Controller):
    path = "/conversations"
    tags = ["chat"]
    security = [{"bearer": []}]
    guards = [requires("chat.use")]

    @post(
        "",
        operation_id="create_conversation",
        summary="Start a direct, group or announcement conversation (201; 200 if the direct "
        "conversation exists)",
        responses={
            200: ResponseSpec(ConversationOut, description="The direct conversation exists."),
            **errors(401, 403, 422),
        },
    )
    async def create(
        self, data: JSONBody[ConversationIn], me: Me, rt: Rt, ctx: Ctx
    ) -> Response[ConversationOut]:
        out, created = await conversations.create(rt, me, data, ctx)
        return Response(out, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(
        "",
        operation_id="list_conversations",
        summary="The caller's conversations, most recently active first, with unread counts",
        responses=errors(401, 403, 422),
    )
    async def list_conversations(
        self, me: Me, cursor: FromQuery[Cursor] = None, limit: FromQuery[Limit] = 50
    ) -> ConversationList:
        return await conversations.list_mine(me, cursor, limit)

    @get(
        "/{conversation_id:uuid}",
        operation_id="get_conversation",
        summary="One conversation with its members",
        responses=errors(401, 403, 404),
    )
    async def get_one(self, conversation_id: FromPath[uuid.UUID], me: Me) -> ConversationOut:
        return await conversations.get(me, conversation_id)

    @patch(
        "/{conversation_id:uuid}",
        operation_id="update_conversation",
        summary="Rename a group or announcement conversation (its admins)",
        responses=errors(401, 403, 404, 422),
    )
    async def update(
        self,
        conversation_id: FromPath[uuid.UUID],
        data: JSONBody[ConversationPatch],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> ConversationOut:
        return await conversations.patch(rt, me, conversation_id, data, ctx)

    @get(
        "/{conversation_id:uuid}/members",
        operation_id="list_conversation_members",
        summary="A conversation's members in the order they joined, a page at a time",
        responses=errors(401, 403, 404, 422),
    )
    async def list_members(
        self,
        conversation_id: FromPath[uuid.UUID],
        me: Me,
        cursor: FromQuery[Cursor] = None,
        limit: FromQuery[Limit] = 100,
    ) -> MemberPage:
        return await conversations.list_members(me, conversation_id, cursor, limit)

    @post(
        "/{conversation_id:uuid}/members",
        status_code=HTTP_200_OK,
        operation_id="add_conversation_members",
        summary="Add people (its admins)",
        responses=errors(401, 403, 404, 422),
    )
    async def add_members(
        self,
        conversation_id: FromPath[uuid.UUID],
        data: JSONBody[MembersIn],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> ConversationOut:
        return await conversations.add_members(rt, me, conversation_id, data, ctx)

    @delete(
        "/{conversation_id:uuid}/members/{user_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="remove_conversation_member",
        summary="Remove someone (its admins), or leave (your own id)",
        responses=errors(401, 403, 404),
    )
    async def remove_member(
        self,
        conversation_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> None:
        await conversations.remove_member(rt, me, conversation_id, user_id, ctx)

    @post(
        "/{conversation_id:uuid}/messages",
        operation_id="send_message",
        summary="Send a message (201; a retry with the same client_msg_id answers 200 with "
        "the stored one)",
        responses={
            200: ResponseSpec(MessageOut, description="A retry: the message already stored."),
            **errors(401, 403, 404, 409, 422),
        },
    )
    async def send(
        self, conversation_id: FromPath[uuid.UUID], data: JSONBody[MessageIn], me: Me, rt: Rt
    ) -> Response[MessageOut]:
        out, created = await messages.send(rt, me, conversation_id, data)
        return Response(out, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(
        "/{conversation_id:uuid}/messages",
        operation_id="list_messages",
        summary="History: newest first before a seq, or oldest first after one (catch-up)",
        responses=errors(401, 403, 404, 422),
    )
    async def history(
        self,
        conversation_id: FromPath[uuid.UUID],
        me: Me,
        rt: Rt,
        before: FromQuery[Seq] = None,
        after: FromQuery[Seq] = None,
        limit: FromQuery[Limit] = 50,
    ) -> MessagePage:
        _positions(before, after)
        return await messages.history(rt, me, conversation_id, before, after, limit)

    @post(
        "/{conversation_id:uuid}/read",
        status_code=HTTP_200_OK,
        operation_id="mark_conversation_read",
        summary="Move the caller's read position to a seq",
        responses=errors(401, 403, 404, 422),
    )
    async def read(
        self, conversation_id: FromPath[uuid.UUID], data: JSONBody[ReadIn], me: Me
    ) -> ReadOut:
        return await messages.mark_read(me, conversation_id, data.seq)


class MessagesController(Controller):
    path = "/messages"
    tags = ["chat"]
    security = [{"bearer": []}]
    guards = [requires("chat.use")]

    @patch(
        "/{message_id:uuid}",
        operation_id="edit_message",
        summary="Edit one's own message",
        responses=errors(401, 403, 404, 409, 422),
    )
    async def edit(
        self, message_id: FromPath[uuid.UUID], data: JSONBody[MessagePatch], me: Me, rt: Rt
    ) -> MessageOut:
        return await messages.edit(rt, me, message_id, data)

    @delete(
        "/{message_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="delete_message",
        summary="Delete one's own message, or any as a moderator (a tombstone stays)",
        responses=errors(401, 403, 404),
    )
    async def remove(self, message_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx) -> None:
        await messages.delete(rt, me, message_id, ctx)


class ChatController(Controller):
    path = "/chat"
    tags = ["chat"]
    security = [{"bearer": []}]
    guards = [requires("chat.use")]

    @get(
        "/credentials",
        operation_id="chat_credentials",
        summary="What a device needs to receive messages: PubNub token, channels and cipher "
        "keys, or the built-in WebSocket",
        responses=errors(401, 403, 429, 503),
    )
    async def device_credentials(self, me: Me, rt: Rt) -> CredentialsOut:
        return await credentials.for_device(rt, me)


# One router for the domain: the API's path prefix is said here, once.
ROUTER = Router(
    path="/api/v1", route_handlers=[ConversationsController, MessagesController, ChatController]
)
