"""Open-loop load: requests at a constant arrival rate, each scheduled on a fixed clock and
its latency measured from when it was due, not from when it was sent, so that a server
falling behind shows as latency instead of quietly slowing the load down (wrk's closed loop
does the latter, which hides queueing: "coordinated omission"). wrk2 and vegeta are not among
Debian's packages here; at a few hundred requests a second this asyncio generator keeps up,
and it measures its own CPU so a report can say so.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from typing import Any

import aiohttp

from bench.wrk import Target

TIMEOUT = aiohttp.ClientTimeout(total=10)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _drive(base: str, target: Target, rate: float, seconds: float) -> dict[str, Any]:
    run = secrets.token_hex(6)
    latencies: list[float] = []
    late_starts: list[float] = []  # how late the generator itself sent (its own lag)
    errors = 0
    counter = itertools.count()
    connector = aiohttp.TCPConnector(limit=512)

    async with aiohttp.ClientSession(base_url=base, connector=connector) as http:

        async def one(n: int, due: float) -> None:
            nonlocal errors
            late_starts.append(time.perf_counter() - due)
            i = n % len(target.tokens)
            headers = {
                "Authorization": f"Bearer {target.tokens[i]}",
                "X-Forwarded-For": f"10.9.{i % 250}.1",
            }
            body = None
            if target.body:
                headers["Content-Type"] = "application/json"
                body = target.body % f"open-{run}-{n}"
            try:
                async with http.request(
                    target.method, target.paths[i], data=body, headers=headers, timeout=TIMEOUT
                ) as r:
                    await r.read()
                    if r.status >= 400:
                        errors += 1
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
                return
            latencies.append((time.perf_counter() - due) * 1000)

        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter() + 0.2
        total = int(rate * seconds)
        for n in range(total):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(next(counter), due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
    return {
        "rate": rate,
        "requests": total,
        "errors": errors,
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
