"""A PubNub-only app hears of its own membership changes on its inbox channel: a
conversation created with the person, being added to one, being removed. The real pubnub
SDK subscribes with the granted token and opens the events with the inbox's cipher key."""

from __future__ import annotations

import httpx
import pytest

from staffroom.chat.service import outbox
from staffroom.core.realtime.pubnub import unseal
from tests.chat.helpers import group
from tests.chat.test_pubnub import SUB, credentials, device, pubnub_app
from tests.support.pubnub_standin import PubNubStandIn
from tests.support.world import World, bearer


async def test_an_app_on_pubnub_alone_hears_of_conversations_it_joins_and_leaves(
    settings, world: World, standin: PubNubStandIn
):
    async with pubnub_app(settings, standin) as (client, rt):
        admin = await bearer(client, world.acme, "admin")
        member = await bearer(client, world.acme, "member")
        editor = await bearer(client, world.acme, "editor")
        creds = (await credentials(client, member))["pubnub"]
        assert creds["channels"] == []  # in no conversation yet: only the inbox
        inbox = creds["inbox"]
        async with device(standin, creds, inbox) as phone:
            # Created with them.
            first = await group(client, world, admin, "member", title="Night shift")
            await outbox.dispatch_once(rt)
            joined = await phone.next()
            assert joined["type"] == "conversation.joined"
            assert joined["conversation_id"] == first["id"]
            assert joined["reason"] == "created"
            # What the app does then: ask again, and the new channel is there.
            again = (await credentials(client, member))["pubnub"]
            assert [c["conversation_id"] for c in again["channels"]] == [first["id"]]
            assert again["inbox"] == inbox  # the same channel and key

            # Added to one that existed without them.
            second = await group(client, world, admin, "editor", title="Day shift")
            await outbox.dispatch_once(rt)
            await phone.assert_quiet()  # other people's conversations: nothing
            r = await client.post(
                f"/api/v1/conversations/{second['id']}/members",
                json={"user_ids": [str(world.acme["member"].id)]},
                headers=admin,
            )
            assert r.status_code in (200, 201), r.text
            await outbox.dispatch_once(rt)
            added = await phone.next()
            assert (added["type"], added["conversation_id"], added["reason"]) == (
                "conversation.joined",
                second["id"],
                "added",
            )
            # Removed from it (its tokens are revoked right after: the app asks again).
            r = await client.delete(
                f"/api/v1/conversations/{second['id']}/members/{world.acme['member'].id}",
                headers=admin,
            )
            assert r.status_code == 204
            await outbox.dispatch_once(rt)
        sealed = standin.published_on(inbox["channel"])
        assert len(sealed) == 3
        opened = [unseal(inbox["cipher_key"], s) for s in sealed]
        assert [(e["type"], e["reason"]) for e in opened] == [
            ("conversation.joined", "created"),
            ("conversation.joined", "added"),
            ("conversation.left", "removed"),
        ]
        assert opened[2]["conversation_id"] == second["id"]
        assert len({e["event_id"] for e in opened}) == 3
        # PubNub's network saw ciphertext only; nobody else's key opens the inbox.
        assert "conversation." not in str(standin.messages)
        editor_creds = (await credentials(client, editor))["pubnub"]
        assert editor_creds["inbox"]["channel"] != inbox["channel"]
        with pytest.raises(Exception):  # noqa: B017 (the SDK's own decryption error)
            unseal(editor_creds["inbox"]["cipher_key"], sealed[0])
        # …nor does anyone else's token read it.
        async with httpx.AsyncClient(base_url=f"http://{standin.origin}") as raw:
            r = await raw.get(
                f"/v2/subscribe/{SUB}/{inbox['channel']}/0",
                params={"tt": "0", "uuid": editor_creds["user_id"], "auth": editor_creds["token"]},
            )
            assert r.status_code == 403
