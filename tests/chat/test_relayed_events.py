"""What devices hear, on both relays at once: a real `staffroom serve` with PubNub keys
pointing at the stand-in, a member's WebSocket on it and the member's phone on PubNub
(the real SDK). Every event carries the state after its change."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import httpx

from tests.chat.helpers import group, say
from tests.chat.test_pubnub import PUB, SECRET, SUB, credentials, device
from tests.chat.test_websocket import _next, _socket
from tests.support.pubnub_standin import PubNubStandIn
from tests.support.serve import ServeProcess
from tests.support.world import World, bearer


@contextlib.asynccontextmanager
async def served_with_pubnub() -> AsyncIterator[tuple[ServeProcess, PubNubStandIn]]:
    """`staffroom serve` (its dispatcher relaying at once) publishing to a stand-in."""
    standin = PubNubStandIn(PUB, SUB, SECRET)
    await standin.start()
    env = {
        "STAFFROOM_SCHEDULER": "true",
        "STAFFROOM_PUBNUB_PUBLISH_KEY": PUB,
        "STAFFROOM_PUBNUB_SUBSCRIBE_KEY": SUB,
        "STAFFROOM_PUBNUB_SECRET_KEY": SECRET,
        "STAFFROOM_PUBNUB_ORIGIN": standin.origin,
        "STAFFROOM_PUBNUB_SSL": "false",
    }
    server = ServeProcess.start(env=env)
    try:
        yield server, standin
    finally:
        server.stop()
        await standin.stop()


async def test_edits_and_deletions_reach_both_relays_as_they_are_after_the_change(
    world: World,
):
    async with served_with_pubnub() as (server, standin):
        async with httpx.AsyncClient(base_url=server.base) as api:
            admin = await bearer(api, world.acme, "admin")
            member = await bearer(api, world.acme, "member")
            socket = await _socket(server.base, member)
            conv = await group(api, world, admin, "member")
            creds = (await credentials(api, member))["pubnub"]
            (channel,) = [c for c in creds["channels"] if c["conversation_id"] == conv["id"]]
            try:
                assert (await _next(socket))["type"] == "conversation.joined"
                async with device(standin, creds, channel) as phone:
                    by_socket, by_pubnub = [], []

                    async def relayed() -> None:
                        # Each change is relayed before the next: a deletion that comes
                        # first turns a waiting edit's event into the tombstone (by design).
                        by_socket.append(await _next(socket))
                        by_pubnub.append(await phone.next(10))

                    r = await say(api, admin, conv["id"], "Payroll is late", "p1")
                    assert r.status_code == 201, r.text
                    message_id = r.json()["id"]
                    await relayed()
                    r = await api.patch(
                        f"/api/v1/messages/{message_id}",
                        json={"body": "Payroll is on time"},
                        headers=admin,
                    )
                    assert r.status_code == 200, r.text
                    edited = r.json()
                    await relayed()
                    r = await api.delete(f"/api/v1/messages/{message_id}", headers=admin)
                    assert r.status_code == 204, r.text
                    await relayed()

                    for relay, events in (("socket", by_socket), ("pubnub", by_pubnub)):
                        created, updated, deleted = events
                        assert [e["type"] for e in events] == [
                            "message.created",
                            "message.updated",
                            "message.deleted",
                        ], relay
                        assert created["message"]["body"] == "Payroll is late", relay
                        assert updated["message"]["body"] == "Payroll is on time", relay
                        assert updated["message"]["edited_at"] == edited["edited_at"], relay
                        assert updated["message"]["edited_at"] is not None, relay
                        # A tombstone: the deleted text is not sent again.
                        assert deleted["message"]["deleted"] is True, relay
                        assert deleted["message"]["body"] is None, relay
                        assert deleted["message"]["attachment_id"] is None, relay
                        assert "Payroll" not in json.dumps(deleted), relay
                    await phone.assert_quiet()
            finally:
                await socket.close()
            # History agrees with what was relayed.
            r = await api.get(f"/api/v1/conversations/{conv['id']}/messages", headers=member)
            (stored,) = r.json()["items"]
            assert stored["deleted"] is True and stored["body"] is None
