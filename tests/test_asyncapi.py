"""The realtime protocol as published (AsyncAPI 3.0 at /schema/asyncapi.json) is what the
server does: every frame a real `staffroom serve` sends on its WebSocket, and every event
it publishes to PubNub (opened with the channel's cipher key), validates against the
document's message schemas, and every message the document names was seen."""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any

import httpx
import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from staffroom.core.realtime.pubnub import unseal
from tests.chat.helpers import group, say
from tests.chat.test_pubnub import credentials
from tests.chat.test_relayed_events import served_with_pubnub
from tests.support.world import World, bearer

DOC: dict[str, Any] = json.loads(
    resources.files("staffroom.core.realtime").joinpath("asyncapi.json").read_text()
)
_REGISTRY = Registry().with_resource(
    "urn:staffroom:realtime", Resource.from_contents(DOC, default_specification=DRAFT7)
)


def _pointer(ref: str) -> Any:
    node: Any = DOC
    assert ref.startswith("#/"), ref
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _messages(channel: str) -> dict[str, dict[str, Any]]:
    """The messages of a channel of the document, by their `type`."""
    found = {}
    for ref in DOC["channels"][channel]["messages"].values():
        message = _pointer(ref["$ref"])
        found[message["payload"]["properties"]["type"]["const"]] = message
    return found


def validate(channel: str, event: dict[str, Any]) -> str:
    """Validate an event against the channel's message of its type; return the type."""
    assert "topic" not in event, event  # the relay's routing never reaches an app
    message = _messages(channel).get(event.get("type", ""))
    assert message is not None, f"{channel}: no message {event.get('type')!r} in the document"
    schema = {"$ref": "urn:staffroom:realtime#" + _path_of(message)}
    jsonschema.Draft7Validator(
        schema, registry=_REGISTRY, format_checker=jsonschema.FormatChecker()
    ).validate(event)
    return str(event["type"])


def _path_of(message: dict[str, Any]) -> str:
    name = next(k for k, v in DOC["components"]["messages"].items() if v is message)
    return f"/components/messages/{name}/payload"


class Recorder:
    """A member's WebSocket, every frame it receives kept."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket, self.frames = socket, list[dict[str, Any]]()

    async def next(self, kind: str) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.socket.recv(), 10))
        self.frames.append(frame)
        assert frame["type"] == kind, frame
        return frame

    async def closed(self) -> int:
        try:
            extra = await asyncio.wait_for(self.socket.recv(), 5)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code
        raise AssertionError(f"the socket should have closed, it sent {extra!r}")


def test_the_document_is_asyncapi_3_and_its_references_resolve():
    assert DOC["asyncapi"] == "3.0.0"
    for ref in _refs(DOC):
        _pointer(ref)  # raises KeyError if it points nowhere
    for name, operation in DOC["operations"].items():
        channel = _pointer(operation["channel"]["$ref"])
        own = {m["$ref"] for m in channel["messages"].values()}
        for ref in operation["messages"]:
            # An operation's messages are its channel's (by reference into the channel).
            assert ref["$ref"].startswith(operation["channel"]["$ref"] + "/messages/"), name
            assert _pointer(ref["$ref"])["$ref"] in own, name
    sockets = [c for c in DOC["channels"].values() if c["address"].endswith("/ws")]
    assert {c["address"] for c in sockets} == {"/api/v1/realtime/ws", "/api/v1/chat/ws"}
    for channel in sockets:
        assert set(channel["x-close-codes"]) == {"4401", "4000", "1013"}


async def test_the_document_is_served_beside_the_openapi_one_without_signing_in(client):
    r = await client.get("/schema/asyncapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == DOC


# One conversation's, one post's and one session's whole life in order: the protocol's story.
async def test_every_event_sent_validates_against_the_document(world: World):  # noqa: PLR0915
    async with served_with_pubnub() as (server, standin):
        async with httpx.AsyncClient(base_url=server.base) as api:
            admin = await bearer(api, world.acme, "admin")
            editor = await bearer(api, world.acme, "editor")
            member = await bearer(api, world.acme, "member")
            news = await api.post("/api/v1/channels", json={"name": "News"}, headers=admin)
            assert news.status_code == 201, news.text
            url = server.base.replace("http", "ws", 1) + "/api/v1/chat/ws"
            s = Recorder(await connect(url))
            token = member["Authorization"].removeprefix("Bearer ")
            await s.socket.send(json.dumps({"type": "auth", "access_token": token}))
            await s.next("ready")
            # Chat: every event of a conversation's life, on the socket and at PubNub.
            conv = await group(api, world, admin, "member")
            await s.next("conversation.joined")
            r = await say(api, admin, conv["id"], "Truck at gate 4", "e1")
            await s.next("message.created")
            url_m = f"/api/v1/messages/{r.json()['id']}"
            await api.patch(url_m, json={"body": "Truck at gate 5"}, headers=admin)
            await s.next("message.updated")
            await api.delete(url_m, headers=admin)
            await s.next("message.deleted")
            c_url = f"/api/v1/conversations/{conv['id']}"
            await api.patch(c_url, json={"title": "Gate team"}, headers=admin)
            await s.next("conversation.updated")
            editor_id = str(world.acme["editor"].id)
            r = await api.post(f"{c_url}/members", json={"user_ids": [editor_id]}, headers=admin)
            assert r.status_code in (200, 201), r.text
            await s.next("member.added")
            await api.delete(f"{c_url}/members/{editor_id}", headers=admin)
            await s.next("member.removed")
            # Feeds.
            r = await api.post(
                f"/api/v1/channels/{news.json()['id']}/posts",
                json={"title": "Canteen", "body": "Open at 7"},
                headers=editor,
            )
            post = f"/api/v1/posts/{r.json()['id']}"
            await s.next("post.published")
            await api.patch(post, json={"title": "Canteen opens"}, headers=editor)
            await s.next("post.updated")
            await api.delete(post, headers=editor)
            await s.next("post.deleted")
            # Credentials now: the conversation's channel and key, and the inbox's.
            creds = (await credentials(api, member))["pubnub"]
            (channel,) = creds["channels"]
            # Leaving: the conversation's event, then the person's own.
            await api.delete(f"{c_url}/members/{world.acme['member'].id}", headers=member)
            await s.next("member.removed")
            await s.next("conversation.left")
            # A refreshed token keeps the socket; its session's end closes it.
            renewed = await bearer(api, world.acme, "member")
            token = renewed["Authorization"].removeprefix("Bearer ")
            await s.socket.send(json.dumps({"type": "auth", "access_token": token}))
            await s.next("renewed")
            await api.post("/api/v1/auth/logout", headers=renewed)
            assert (await s.next("error"))["code"] == "unauthorized"
            assert await s.closed() == 4401
        await asyncio.sleep(0.5)  # the last events' publication to PubNub
        on_socket = [validate("chatSocket", f) for f in s.frames]
        on_channel = [
            validate("pubnubConversation", unseal(channel["cipher_key"], sealed))
            for sealed in standin.published_on(channel["channel"])
        ]
        inbox = creds["inbox"]
        on_inbox = [
            validate("pubnubInbox", unseal(inbox["cipher_key"], sealed))
            for sealed in standin.published_on(inbox["channel"])
        ]
    # Every message the document lists was sent (bar `auth`, which the app sends).
    assert set(on_socket) == set(_messages("chatSocket")) - {"auth"}
    assert set(on_channel) == set(_messages("pubnubConversation"))
    assert on_inbox == ["conversation.joined", "conversation.left"]
    # Both socket paths speak the same protocol.
    realtime = DOC["channels"]["realtimeSocket"]["messages"]
    assert realtime == DOC["channels"]["chatSocket"]["messages"]
