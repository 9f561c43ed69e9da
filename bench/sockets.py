"""Phones with the chat socket open (`/api/v1/chat/ws`), as the apps keep it: when it
closes they reconnect, and then catch up on each conversation with `after` its last seq
before reading live events again. Each keeps the ids it got, live and by catch-up, so a run
can tell whether any acknowledged message never reached a member's phone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp

from bench.loadgen import Employee, Ledger
from bench.seed import PASSWORD

PAGE = 100


@dataclass
class Reader:
    emp: Employee
    token: str = ""
    seen: set[str] = field(default_factory=set)
    # Per conversation: every seq up to here was got, and those got beyond it. Live events
    # can come out of order (two instances publish), so the app catches up from the last
    # seq without a gap before it, not from the highest one seen.
    upto: dict[uuid.UUID, int] = field(default_factory=dict)
    beyond: dict[uuid.UUID, set[int]] = field(default_factory=dict)
    connected: list[tuple[float, float]] = field(default_factory=list)  # wall clock spans
    live: int = 0
    caught_up: int = 0
    reconnects: int = 0
    gaps: list[float] = field(default_factory=list)  # seconds without a socket

    def got(self, message: dict[str, object], live: bool) -> None:
        mid = str(message["id"])
        if mid in self.seen:
            return
        self.seen.add(mid)
        conv = uuid.UUID(str(message["conversation_id"]))
        later = self.beyond.setdefault(conv, set())
        later.add(int(str(message["seq"])))
        while self.upto.get(conv, 0) + 1 in later:
            self.upto[conv] = self.upto.get(conv, 0) + 1
            later.discard(self.upto[conv])
        if live:
            self.live += 1
        else:
            self.caught_up += 1

    def missing(self, ledger: Ledger) -> list[str]:
        mine = set(self.emp.conversations)
        return [m for m, conv in ledger.messages.items() if conv in mine and m not in self.seen]


async def _sign_in(http: aiohttp.ClientSession, reader: Reader) -> None:
    body = {"org": "bench", "login": reader.emp.email, "password": PASSWORD}
    async with http.post("/api/v1/auth/login", json=body) as r:
        r.raise_for_status()
        reader.token = (await r.json())["access_token"]


async def _newest(http: aiohttp.ClientSession, reader: Reader) -> None:
    """Where each conversation stands before the socket opens (the app's first page)."""
    auth = {"Authorization": f"Bearer {reader.token}"}
    for conv in reader.emp.conversations:
        url = f"/api/v1/conversations/{conv}/messages"
        async with http.get(url, params={"limit": "1"}, headers=auth) as r:
            r.raise_for_status()
            items = (await r.json())["items"]
        reader.upto[conv] = items[0]["seq"] if items else 0


async def _catch_up(http: aiohttp.ClientSession, reader: Reader) -> None:
    auth = {"Authorization": f"Bearer {reader.token}"}
    for conv in reader.emp.conversations:
        while True:
            query = {"after": str(reader.upto.get(conv, 0)), "limit": str(PAGE)}
            url = f"/api/v1/conversations/{conv}/messages"
            async with http.get(url, params=query, headers=auth) as r:
                r.raise_for_status()
                items = (await r.json())["items"]
            for m in items:
                reader.got(m, live=False)
            if len(items) < PAGE:
                break


async def _listen(
    http: aiohttp.ClientSession, reader: Reader, ready: asyncio.Event, stop: asyncio.Event
) -> None:
    lost_at: float | None = None
    while not stop.is_set():
        try:
            async with http.ws_connect("/api/v1/chat/ws", heartbeat=20) as ws:
                await ws.send_str(json.dumps({"type": "auth", "access_token": reader.token}))
                hello = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
                if hello.get("type") != "ready":
                    raise RuntimeError(f"socket refused: {hello}")
                since = time.time()
                await _catch_up(http, reader)
                if lost_at is not None:
                    reader.gaps.append(time.monotonic() - lost_at)
                    lost_at = None
                ready.set()
                try:
                    async for frame in ws:
                        if frame.type != aiohttp.WSMsgType.TEXT:
                            break
                        event = json.loads(frame.data)
                        if event.get("type") == "message.created":
                            reader.got(event["message"], live=True)
                finally:
                    reader.connected.append((since, time.time()))
        except (aiohttp.ClientError, TimeoutError, RuntimeError, ValueError, KeyError):
            pass
        if stop.is_set():
            return
        if lost_at is None:
            lost_at = time.monotonic()
            reader.reconnects += 1
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def open_readers(base: str, people: list[Employee]) -> AsyncIterator[list[Reader]]:
    """Sign these employees in (each from its own loopback address), open their sockets
    and keep them open, reconnecting and catching up, until the block ends."""
    readers = [Reader(e) for e in people if e.conversations]
    stop = asyncio.Event()
    sessions: list[aiohttp.ClientSession] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for reader in readers:
            conn = aiohttp.TCPConnector(local_addr=(reader.emp.loopback, 0), ssl=False)
            http = aiohttp.ClientSession(base_url=base, connector=conn)
            sessions.append(http)
            await _sign_in(http, reader)
            await _newest(http, reader)
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(_listen(http, reader, ready, stop)))
            await asyncio.wait_for(ready.wait(), 15)
        yield readers
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for http in sessions:
            await http.close()
