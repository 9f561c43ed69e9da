"""The built-in WebSocket relay: open apps receive the events of the topics they may read.

The access token comes as the first message, never in the URL (URLs reach logs):
`{"type": "auth", "access_token": "…"}` within 10 s, else the socket closes with 4401.
The session is checked again before events are passed on (at most every
`realtime_recheck_seconds`): once it is signed out, revoked or its access token expired,
the socket closes with 4401 instead; once the topics it may read changed (a channel's
audience, the person's groups), with 4000: the app reconnects and gets the new ones.
An app keeps its socket across token refreshes by sending the same auth message with
the new token (answered `{"type": "renewed"}`); a token of somebody else closes it.
While the database cannot be reached to check a session, the socket closes with 1013
(try again later). A session that ends (sign-out, revocation, deactivation) is announced
on the relay: its sockets close with 4401 at once, without waiting for an event; so is a
change to what someone may read (groups, role, a channel's audience): their sockets check
at once and close with 4000 if their topics changed.

All of this, every event with its fields, and the PubNub payloads are published as an
AsyncAPI 3.0 document at `/schema/asyncapi.json` (core/realtime/asyncapi.json).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Coroutine
from importlib import resources
from typing import Any

from litestar import MediaType, Response, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect

from staffroom.accounts.guards import PUBLIC
from staffroom.accounts.service import sessions
from staffroom.core import realtime
from staffroom.core.context import Principal
from staffroom.core.db.engine import outage_errors
from staffroom.core.runtime import Runtime

AUTH_SECONDS = 10
UNAUTHORIZED = 4401
# What the socket may read changed (a channel or group membership): the app reconnects.
RECONNECT = 4000
TRY_AGAIN_LATER = 1013
Ending = tuple[int, str]


def _auth(text: str) -> tuple[bool, str | None]:
    """(whether this is an auth message, its access token if it carries a plausible one)."""
    try:
        hello = json.loads(text)
    except ValueError:
        return False, None
    if not isinstance(hello, dict) or hello.get("type") != "auth":
        return False, None
    token = hello.get("access_token")
    return True, token if isinstance(token, str) and 0 < len(token) <= 256 else None


async def _principal(rt: Runtime, token: str | None) -> Principal | None:
    # Past the principal cache: a socket acts on the announcements the cache drops on, and
    # may hear one before this worker's cache does.
    principal = await sessions.authenticate(rt, token, cached=False) if token else None
    # An MFA-enrolment-only session may not read anything yet.
    return principal if principal is not None and principal.scope == "full" else None


class _Session:
    """The socket's session and topics: checked again when the last check is older than
    allowed."""

    def __init__(self, rt: Runtime, token: str, principal: Principal, topics: list[str]) -> None:
        self.rt, self.token, self.principal, self.topics = rt, token, principal, topics
        self.checked = time.monotonic()

    async def renew(self, token: str | None) -> bool:
        """Take a refreshed token of the same person; False for anything else."""
        principal = await _principal(self.rt, token)
        if token is None or principal is None or principal.user_id != self.principal.user_id:
            return False
        self.token, self.principal, self.checked = token, principal, time.monotonic()
        return True

    async def check(self, *, now: bool = False) -> Ending | None:
        """Why the socket must end now, if it must (`now`: whenever it was last checked)."""
        recent = time.monotonic() - self.checked < self.rt.settings.realtime_recheck_seconds
        if recent and not now:
            return None
        principal = await _principal(self.rt, self.token)
        if principal is None:
            return UNAUTHORIZED, "unauthorized"
        if await realtime.topics_for(self.rt, principal) != self.topics:
            return RECONNECT, "reconnect"
        self.principal, self.checked = principal, time.monotonic()
        return None


async def _close(
    socket: WebSocket[Any, Any, Any], code: int = UNAUTHORIZED, reason: str = "unauthorized"
) -> None:
    with contextlib.suppress(Exception):
        await socket.send_json({"type": "error", "code": reason})
        await socket.close(code=code)


@websocket(["/api/v1/realtime/ws", "/api/v1/chat/ws"], opt={PUBLIC: True})
async def realtime_socket(socket: WebSocket[Any, Any, Any]) -> None:
    """Authenticate, subscribe to the user's topics, forward events until either side leaves."""
    rt: Runtime = socket.app.state.runtime
    await socket.accept()
    session = await _authenticated(rt, socket)
    if session is None:
        return
    principal = session.principal
    control = {
        realtime.user_control_topic(principal.org_id, principal.user_id),
        realtime.org_control_topic(principal.org_id),
    }
    async with rt.relay.subscribe([*session.topics, *sorted(control)]) as events:
        await socket.send_json({"type": "ready", "topics": len(session.topics)})
        ending = await _first_ending(
            _forward(socket, session, events, control), _listen(socket, session)
        )
        if ending is not None:
            await _close(socket, *ending)


async def _authenticated(rt: Runtime, socket: WebSocket[Any, Any, Any]) -> _Session | None:
    """The session of the auth message sent first; else the socket is closed (4401, or
    1013 while the database cannot be reached) and None."""
    try:
        _, token = _auth(await asyncio.wait_for(socket.receive_text(), timeout=AUTH_SECONDS))
    except (TimeoutError, WebSocketDisconnect):
        token = None  # silence or a closed socket: not authenticated
    try:
        principal = await _principal(rt, token)
        topics = await realtime.topics_for(rt, principal) if principal is not None else []
    except outage_errors():  # the database cannot be reached: the app tries again later
        await _close(socket, TRY_AGAIN_LATER, "service_unavailable")
        return None
    if token is None or principal is None:
        await _close(socket)
        return None
    return _Session(rt, token, principal, topics)


async def _forward(
    socket: WebSocket[Any, Any, Any],
    session: _Session,
    events: AsyncIterator[dict[str, Any]],
    control: set[str],
) -> Ending | None:
    """Pass the relay's events on, checking the session first; why the socket must end."""
    async for event in events:
        control_event = event.get("topic") in control  # never passed on
        if control_event and event.get("type") == realtime.SESSION_ENDED:
            if str(session.principal.session_id) in event.get("session_ids", ()):
                return UNAUTHORIZED, "unauthorized"
            continue  # another session of the same person
        try:
            ending = await session.check(now=control_event)
        except outage_errors():
            # The session cannot be checked: the app reconnects when we are back.
            return TRY_AGAIN_LATER, "service_unavailable"
        if ending is not None:
            return ending
        if not control_event:
            # The relay's topic is the server's routing, not the app's business.
            await socket.send_json({k: v for k, v in event.items() if k != "topic"})
    return None


async def _listen(socket: WebSocket[Any, Any, Any], session: _Session) -> Ending | None:
    """Read what the app sends: renewed tokens; why the socket must end (None: it left)."""
    try:
        while True:  # pings and other text are ignored; a close ends the loop
            is_auth, token = _auth(await socket.receive_text())
            if is_auth:
                if not await session.renew(token):
                    return UNAUTHORIZED, "unauthorized"
                await socket.send_json({"type": "renewed"})
    except WebSocketDisconnect:
        return None
    except outage_errors():
        return TRY_AGAIN_LATER, "service_unavailable"


async def _first_ending(*sides: Coroutine[Any, Any, Ending | None]) -> Ending | None:
    """Run both sides; whichever ends first ends the socket. The close is sent by the
    caller, once the other side is no longer reading or writing it."""
    tasks = {asyncio.create_task(side) for side in sides}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    first = next(iter(done))
    return None if first.cancelled() or first.exception() else first.result()


# Read once: a static document shipped in the package, beside the generated OpenAPI one.
_ASYNCAPI = resources.files("staffroom.core.realtime").joinpath("asyncapi.json").read_bytes()


@get(
    "/schema/asyncapi.json",
    opt={PUBLIC: True},
    include_in_schema=False,
    sync_to_thread=False,
    summary="The realtime protocol (AsyncAPI 3.0)",
)
def asyncapi_document() -> Response[bytes]:
    """The WebSocket protocol and the PubNub payloads as an AsyncAPI 3.0 document."""
    return Response(_ASYNCAPI, media_type=MediaType.JSON)
