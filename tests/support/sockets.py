"""WebSocket helpers shared by the realtime and chat socket tests."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed


async def ended(socket: ClientConnection) -> tuple[str, int]:
    """The error code a socket is ended with, and its close code (it must close)."""
    ending = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert ending["type"] == "error", ending
    try:
        extra = await asyncio.wait_for(socket.recv(), 5)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return ending["code"], closed.rcvd.code
    raise AssertionError(f"the socket should have been closed, it sent {extra!r}")
