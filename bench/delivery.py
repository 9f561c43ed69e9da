"""A message's whole trip on the built-in relay: one phone sends, one at a time, and the
time is taken until the other member's open socket has the message (the send, its
transaction, the outbox dispatcher and the relay publish), beside the time until the
sender's own answer."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from typing import Any

import aiohttp

from bench.wrk import RssSampler


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _socket(http: aiohttp.ClientSession, token: str) -> aiohttp.ClientWebSocketResponse:
    socket = await http.ws_connect("/api/v1/chat/ws")
    await socket.send_str(json.dumps({"type": "auth", "access_token": token}))
    ready = json.loads((await asyncio.wait_for(socket.receive(), 10)).data)
    if ready.get("type") != "ready":
        raise RuntimeError(f"socket not ready: {ready}")
    return socket


async def _delivered(socket: aiohttp.ClientWebSocketResponse, message_id: str) -> None:
    while True:
        event = json.loads((await socket.receive()).data)
        if event.get("type") == "message.created" and event["message"]["id"] == message_id:
            return


async def _measure(base: str, sender: str, reader: str, count: int) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {sender}"}
    answered: list[float] = []
    delivered: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(base_url=base) as http:
        async with http.get("/api/v1/me", headers={"Authorization": f"Bearer {reader}"}) as r:
            reader_id = (await r.json())["id"]
        body = {"kind": "direct", "user_ids": [reader_id]}
        async with http.post("/api/v1/conversations", json=body, headers=auth) as r:
            conversation = (await r.json())["id"]
        socket = await _socket(http, reader)
        url = f"/api/v1/conversations/{conversation}/messages"
        started = time.monotonic()
        for n in range(count):
            message = {"client_msg_id": f"trip-{uuid.uuid4().hex[:12]}", "body": f"Trip {n}"}
            t = time.perf_counter()
            async with http.post(url, json=message, headers=auth) as r:
                sent = await r.json()
                if r.status != 201:
                    errors += 1
                    continue
            answered.append((time.perf_counter() - t) * 1000)
            try:
                await asyncio.wait_for(_delivered(socket, sent["id"]), 10)
            except TimeoutError:
                errors += 1
                continue
            delivered.append((time.perf_counter() - t) * 1000)
        elapsed = time.monotonic() - started
        await socket.close()
    return {
        "requests": count,
        "seconds": elapsed,
        "rps": count / elapsed,
        "errors": errors,
        "p50_ms": statistics.median(delivered),
        "p99_ms": _pct(delivered, 0.99),
        "answered_p50_ms": statistics.median(answered),
    }


def measure(
    base: str, sender: str, reader: str, server_pid: int, count: int = 300
) -> dict[str, Any]:
    """`count` messages one after another; p50/p99 until the reader's socket has each."""
    with RssSampler(server_pid) as rss:
        result = asyncio.run(_measure(base, sender, reader, count))
    result["peak_rss_mb"] = rss.peak / 2**20
    return result
