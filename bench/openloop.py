"""Open-loop load: requests at a constant arrival rate, each scheduled on a fixed clock and
its latency measured from when it was due, not from when it was sent, so that a server
falling behind shows as latency instead of quietly slowing the load down (wrk's closed loop
does the latter, which hides queueing: "coordinated omission"). wrk2 and vegeta are not among
Debian's packages here, so this is a small asyncio generator, and it measures its own CPU so a
report can say whether it kept up.

It speaks HTTP/1.1 itself over kept-alive connections (an asyncio protocol, each request's
bytes built once up front): aiohttp's client cost ~450 µs of the generator's CPU a request,
which at `/me`'s half-maximum rate on two workers (~1,400 a second) took most of a core
from the server it was measuring.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from bench.wrk import Target

TIMEOUT = 10.0
MAX_CONNECTIONS = 512


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _head(head: bytes) -> tuple[int, int]:
    """An answer's status and body length, from its status line and headers."""
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return int(lines[0][9:12]), length


class _Connection(asyncio.Protocol):
    """One kept-alive connection, one request at a time: the answer's status and body
    length are all that is read (the server answers with Content-Length; none means an
    empty body, as for 204)."""

    def __init__(self, idle: list[_Connection]) -> None:
        self.idle, self.buffer = idle, bytearray()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed by the server"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        status, length = _head(bytes(self.buffer[:end]))
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        if waiter.done():  # timed out: what it was waiting for came too late
            self.closed = True
            if self.transport is not None:
                self.transport.close()
            return
        waiter.set_result(status)
        self.idle.append(self)

    async def ask(self, request: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def _requests(host: str, target: Target, run: str, total: int) -> list[bytes]:
    """Every request's bytes, built before the clock starts."""
    out = []
    for n in range(total):
        i = n % len(target.tokens)
        lines = [
            f"{target.method} {target.paths[i]} HTTP/1.1",
            f"Host: {host}",
            f"Authorization: Bearer {target.tokens[i]}",
            f"X-Forwarded-For: 10.9.{i % 250}.1",
        ]
        body = b""
        if target.body:
            body = (target.body % f"open-{run}-{n}").encode()
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return out


class _Pool:
    """Kept-alive connections to one server, opened as the load needs them."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[_Connection] = []
        self.opened: list[_Connection] = []

    async def take(self) -> _Connection | None:
        while self.idle and self.idle[-1].closed:
            self.idle.pop()
        if self.idle:
            return self.idle.pop()
        if len(self.opened) >= MAX_CONNECTIONS:
            return None
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: _Connection(self.idle), self.host, self.port)
        self.opened.append(conn)
        return conn

    def close(self) -> None:
        for conn in self.opened:
            if conn.transport is not None:
                conn.transport.close()


async def _drive(base: str, target: Target, rate: float, seconds: float) -> dict[str, Any]:
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    total = int(rate * seconds)
    requests = _requests(f"{host}:{port}", target, secrets.token_hex(6), total)
    pool = _Pool(host, port)
    latencies: list[float] = []
    late_starts: list[float] = []  # how late the generator itself sent (its own lag)
    errors = 0

    async def one(n: int, due: float) -> None:
        nonlocal errors
        late_starts.append(time.perf_counter() - due)
        try:
            conn = await pool.take()
            # None: more in flight than the generator will open; counted as lost.
            status = 0 if conn is None else await asyncio.wait_for(conn.ask(requests[n]), TIMEOUT)
        except (OSError, ValueError, TimeoutError):
            status = 0
        if not 0 < status < 400:
            errors += 1
        if status:
            latencies.append((time.perf_counter() - due) * 1000)

    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter() + 0.2
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(n, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    pool.close()
    return {
        "rate": rate,
        "requests": total,
        "errors": errors,
        "connections": len(pool.opened),
        "p50_ms": _pct(latencies, 0.50),
        "p99_ms": _pct(latencies, 0.99),
        "max_ms": max(latencies, default=0.0),
        "generator_lag_p99_ms": _pct(late_starts, 0.99) * 1000,
    }


def run(base: str, target: Target, rate: float, seconds: float) -> dict[str, Any]:
    """`rate` requests a second for `seconds`; latencies from each request's due time, and
    the generator's own CPU (seconds of this thread) per request in µs."""
    cpu = time.thread_time()
    result = asyncio.run(_drive(base, target, rate, seconds))
    result["generator_cpu_us"] = (time.thread_time() - cpu) / max(result["requests"], 1) * 1e6
    return result
