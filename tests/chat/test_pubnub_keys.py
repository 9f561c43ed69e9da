"""A device in several conversations: each has its own cipher key and PubNub's SDK takes
one per client, so the app subscribes without one and opens each message with the key of
the channel it came on (README, "Receiving chat on PubNub"). Done here as an app would:
the real SDK subscribing to two conversations and the inbox at once, its AES-CBC crypto
module opening each message."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pubnub.callbacks import SubscribeCallback
from pubnub.crypto import AesCbcCryptoModule
from pubnub.enums import PNStatusCategory
from pubnub.exceptions import PubNubException
from pubnub.pnconfiguration import PNConfiguration
from pubnub.pubnub_asyncio import PubNubAsyncio

from tests.chat.helpers import group, say
from tests.chat.test_pubnub import credentials, pubnub_app, settled
from tests.support.pubnub_standin import PubNubStandIn
from tests.support.world import World, bearer


class Sealed(SubscribeCallback):
    """What arrives, as it arrives: (channel, the sealed message)."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.connected = asyncio.Event()

    def status(self, pubnub: Any, status: Any) -> None:
        if status.category == PNStatusCategory.PNConnectedCategory:
            self.connected.set()

    def message(self, pubnub: Any, message: Any) -> None:
        self.inbox.put_nowait((message.channel, message.message))

    def presence(self, pubnub: Any, presence: Any) -> None:
        pass


def crypto_module(cipher_key: str) -> AesCbcCryptoModule:
    """The SDK's AES-256-CBC module for one channel's key."""
    conf = PNConfiguration()
    conf.cipher_key = cipher_key
    return AesCbcCryptoModule(conf)


async def test_one_device_opens_two_conversations_each_with_its_own_key(
    settings, world: World, standin: PubNubStandIn
):
    async with pubnub_app(settings, standin) as (client, rt):
        admin = await bearer(client, world.acme, "admin")
        member = await bearer(client, world.acme, "member")
        night = await group(client, world, admin, "member", title="Night shift")
        day = await group(client, world, admin, "member", title="Day shift")
        await settled(rt)
        creds = (await credentials(client, member))["pubnub"]
        assert len(creds["channels"]) == 2
        # The app's table: channel -> crypto module (and which conversation it is).
        modules = {c["channel"]: crypto_module(c["cipher_key"]) for c in creds["channels"]}
        modules[creds["inbox"]["channel"]] = crypto_module(creds["inbox"]["cipher_key"])
        conversation_of = {c["channel"]: c["conversation_id"] for c in creds["channels"]}

        conf = PNConfiguration()
        conf.disable_config_locking = False
        conf.subscribe_key = creds["subscribe_key"]
        conf.user_id = creds["user_id"]
        conf.origin = standin.origin
        conf.ssl = False  # and no cipher key: the SDK hands over what was published
        phone = PubNubAsyncio(conf)
        phone.set_token(creds["token"])
        listener = Sealed()
        phone.add_listener(listener)
        phone.subscribe().channels(sorted(modules)).execute()
        try:
            await asyncio.wait_for(listener.connected.wait(), 5)
            await say(client, admin, night["id"], "Forklift 2 is down", "n1")
            await say(client, admin, day["id"], "Delivery moved to 9", "d1")
            third = await group(client, world, admin, "member", title="Weekend")
            await settled(rt)
            got = [await asyncio.wait_for(listener.inbox.get(), 5) for _ in range(3)]
        finally:
            await phone.stop()
        opened = {}
        for channel, sealed in got:
            assert isinstance(sealed, str) and "Forklift" not in sealed
            event = modules[channel].decrypt(sealed)
            opened[event["type"], event["conversation_id"]] = (channel, event)
        channel, event = opened["message.created", night["id"]]
        assert conversation_of[channel] == night["id"]
        assert event["message"]["body"] == "Forklift 2 is down"
        channel, event = opened["message.created", day["id"]]
        assert conversation_of[channel] == day["id"]
        assert event["message"]["body"] == "Delivery moved to 9"
        channel, event = opened["conversation.joined", third["id"]]
        assert channel == creds["inbox"]["channel"]
        # Why one client-wide key cannot do: the night key does not open the day's message.
        day_sealed = next(s for c, s in got if conversation_of.get(c) == day["id"])
        night_channel = next(c for c, cid in conversation_of.items() if cid == night["id"])
        with pytest.raises(PubNubException):
            modules[night_channel].decrypt(day_sealed)
