"""The built-in WebSocket relay: open apps receive the events of the topics they may read.

The access token comes as the first message, never in the URL (URLs reach logs):
`{"type": "auth", "access_token": "…"}` within 10 s, else the socket closes with 4401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from staffroom.accounts.guards import PUBLIC
from staffroom.accounts.service import sessions
from staffroom.core import realtime
from staffroom.core.runtime import Runtime

AUTH_SECONDS = 10
UNAUTHORIZED = 4401


async def _authenticate(socket: WebSocket[Any, Any, Any], rt: Runtime) -> Any:
    try:
        first = await asyncio.wait_for(socket.receive_text(), timeout=AUTH_SECONDS)
        hello = json.loads(first)
    except (TimeoutError, ValueError, WebSocketDisconnect):
        return None  # silence, garbage or a closed socket: not authenticated
    if not isinstance(hello, dict) or hello.get("type") != "auth":
        return None
    token = hello.get("access_token")
    if not isinstance(token, str) or not 0 < len(token) <= 256:
        return None
    principal = await sessions.authenticate(rt, token)
    # An MFA-enrolment-only session may not read anything yet.
    return principal if principal is not None and principal.scope == "full" else None


@websocket(["/api/v1/realtime/ws", "/api/v1/chat/ws"], opt={PUBLIC: True})
async def realtime_socket(socket: WebSocket[Any, Any, Any]) -> None:
    """Authenticate, subscribe to the user's topics, forward events until either side leaves."""
    rt: Runtime = socket.app.state.runtime
    await socket.accept()
    principal = await _authenticate(socket, rt)
    if principal is None:
        with contextlib.suppress(Exception):
            await socket.send_json({"type": "error", "code": "unauthorized"})
            await socket.close(code=UNAUTHORIZED)
        return
    topics = await realtime.topics_for(principal)
    async with rt.relay.subscribe(topics) as events:
        await socket.send_json({"type": "ready", "topics": len(topics)})

        async def forward() -> None:
            async for event in events:
                await socket.send_json(event)

        forwarding = asyncio.create_task(forward())
        try:
            while True:  # the client may ping; a close ends the loop
                await socket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            forwarding.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await forwarding
