"""Fixtures of the chat tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.chat.test_pubnub import PUB, SECRET, SUB
from tests.support.pubnub_standin import PubNubStandIn


@pytest.fixture
async def standin() -> AsyncIterator[PubNubStandIn]:
    """A local PubNub stand-in with the test keys."""
    server = PubNubStandIn(PUB, SUB, SECRET)
    await server.start()
    yield server
    await server.stop()
