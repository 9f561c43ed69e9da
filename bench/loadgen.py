"""Simulated employees: each signs in from an address of its own, then reads the feed,
marks posts read, acknowledges, reads and sends chat messages, opens its profile and now
and then uploads a file; a few admins invite people. Every request is timed; every write
that got a 2xx goes into a client-side ledger that is checked against the database after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.seed import PASSWORD, Seeded

TIMEOUT = 10.0
ARRIVALS = 60.0  # seconds over which the employees sign in
# Seconds between one employee's actions (uniform): reading a post or typing a reply.
THINK = (3.0, 9.0)
_TIMEOUT = aiohttp.ClientTimeout(total=TIMEOUT)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 1000


@dataclass
class Sample:
    at: float  # seconds since the run started
    name: str
    status: int  # HTTP status; 0 a connection error, -1 a timeout
    ms: float
    retry_after: bool = False


@dataclass
class Ledger:
    """Writes the server acknowledged with a 2xx."""

    messages: dict[str, uuid.UUID] = field(default_factory=dict)  # message id -> conversation
    reads: set[tuple[str, uuid.UUID]] = field(default_factory=set)  # (post, user)
    acks: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    invites: dict[str, str] = field(default_factory=dict)  # invite id -> email
    media: set[str] = field(default_factory=set)  # completed uploads

    def merge(self, other: Ledger) -> None:
        self.messages.update(other.messages)
        self.reads |= other.reads
        self.acks |= other.acks
        self.invites.update(other.invites)
        self.media |= other.media


@dataclass
class Run:
    base: str
    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)
    stop_at: float = 0.0
    arrivals: float = ARRIVALS  # seconds over which the employees open the app

    def now(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Employee:
    n: int
    user_id: uuid.UUID
    email: str
    admin: bool
    conversations: list[uuid.UUID]
    token: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    # A session from an earlier day: the app resumes it instead of asking for the password.
    refresh: str = ""

    @property
    def ip(self) -> str:
        return f"10.{self.n // 250 % 250}.{self.n % 250}.{self.n % 7 + 1}"

    @property
    def loopback(self) -> str:
        """An address of its own on loopback to connect from, when a proxy in front sets
        X-Forwarded-For from what it sees (never 127.0.0.1: the proxy's own)."""
        return f"127.{1 + self.n // 62500 % 250}.{self.n // 250 % 250}.{self.n % 250 + 1}"


@dataclass
class Reply:
    status_code: int
    body: bytes
    headers: Mapping[str, str]

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    run: Run,
    client: aiohttp.ClientSession,
    emp: Employee,
    name: str,
    method: str,
    url: str,
    **kw: Any,
) -> Reply | None:
    """One timed request (aiohttp: the load generator must cost far less than the server)."""
    headers = {"X-Forwarded-For": emp.ip}
    if emp.token and not url.startswith("http"):
        headers["Authorization"] = f"Bearer {emp.token}"
    t0 = time.monotonic()
    try:
        async with client.request(method, url, headers=headers, timeout=_TIMEOUT, **kw) as r:
            reply = Reply(r.status, await r.read(), r.headers)
    except TimeoutError:
        run.samples.append(Sample(t0 - run.started, name, -1, (time.monotonic() - t0) * 1000))
        return None
    except aiohttp.ClientError:
        run.samples.append(Sample(t0 - run.started, name, 0, (time.monotonic() - t0) * 1000))
        return None
    ms = (time.monotonic() - t0) * 1000
    retry = "Retry-After" in reply.headers
    run.samples.append(Sample(t0 - run.started, name, reply.status_code, ms, retry))
    if reply.status_code == 401 and "Authorization" in headers:
        emp.token = ""  # the session ended (e.g. expired): sign in again
    return reply


async def login(run: Run, client: aiohttp.ClientSession, emp: Employee) -> bool:
    """Resume the session with its refresh token (rotated on each use), else sign in."""
    emp.token = ""
    if emp.refresh:
        body = {"refresh_token": emp.refresh}
        r = await call(run, client, emp, "refresh", "POST", "/api/v1/auth/refresh", json=body)
        if r is not None and r.status_code == 200:
            emp.token, emp.refresh = r.json()["access_token"], r.json()["refresh_token"]
            return True
        if r is None or r.status_code != 401:
            return False  # try the same token again later
        emp.refresh = ""  # ended: the password, as the app would ask
    body = {"org": "bench", "login": emp.email, "password": PASSWORD}
    r = await call(run, client, emp, "login", "POST", "/api/v1/auth/login", json=body)
    if r is not None and r.status_code == 200:
        emp.token, emp.refresh = r.json()["access_token"], r.json().get("refresh_token", "")
        return True
    return False


async def _feed(run: Run, client: aiohttp.ClientSession, emp: Employee) -> None:
    r = await call(run, client, emp, "feed", "GET", "/api/v1/feed?limit=20")
    if r is not None and r.status_code == 200:
        emp.posts = r.json()["items"]


async def _read(run: Run, client: aiohttp.ClientSession, emp: Employee) -> None:
    if not emp.posts:
        return await _feed(run, client, emp)
    post = random.choice(emp.posts)
    r = await call(run, client, emp, "post_read", "POST", f"/api/v1/posts/{post['id']}/read")
    if r is not None and r.is_success:
        run.ledger.reads.add((post["id"], emp.user_id))


async def _ack(run: Run, client: aiohttp.ClientSession, emp: Employee) -> None:
    due = [p for p in emp.posts if p["requires_ack"]]
    if not due:
        return await _feed(run, client, emp)
    post = random.choice(due)
    url = f"/api/v1/posts/{post['id']}/acknowledge"
    r = await call(run, client, emp, "post_ack", "POST", url)
    if r is not None and r.is_success:
        run.ledger.acks.add((post["id"], emp.user_id))


async def _chat_read(run: Run, client: aiohttp.ClientSession, emp: Employee) -> None:
    if random.random() < 0.3 or not emp.conversations:
        await call(run, client, emp, "conversations", "GET", "/api/v1/conversations")
        return
    conv = random.choice(emp.conversations)
    await call(run, client, emp, "messages", "GET", f"/api/v1/conversations/{conv}/messages")


async def _chat_send(run: Run, client: aiohttp.ClientSession, emp: Employee) -> None:
    if not emp.conversations:
        return
    conv = random.choice(emp.conversations)
    body = {"client_msg_id": uuid.uuid4().hex, "body": f"On my way ({emp.n})"}
    url = f"/api/v1/conversations/{conv}/messages"
    r = await call(run, client, emp, "send", "POST", url, json=body)
    if r is not None and r.is_success:
        run.ledger.messages[r.json()["id"]] = conv


async def _me(run: Run, client: aiohttp.ClientSession, emp: Employee) -> None:
    await call(run, client, emp, "me", "GET", "/api/v1/me")


async def _upload(run: Run, client: aiohttp.ClientSession, emp: Employee) -> None:
    announce = {"filename": "rota.png", "content_type": "image/png", "size": len(PNG)}
    r = await call(run, client, emp, "upload_start", "POST", "/api/v1/media/uploads", json=announce)
    if r is None or r.status_code != 201:
        return
    media_id, target = r.json()["media_id"], r.json()["upload"]
    form = aiohttp.FormData(target["fields"])
    form.add_field("file", PNG, filename="rota.png", content_type="image/png")
    s3 = await call(run, client, emp, "s3_post", "POST", target["url"], data=form)
    if s3 is None or not s3.is_success:
        return
    r = await call(
        run, client, emp, "upload_complete", "POST", f"/api/v1/media/{media_id}/complete"
    )
    if r is not None and r.is_success:
        run.ledger.media.add(media_id)


async def _invite(run: Run, client: aiohttp.ClientSession, emp: Employee) -> None:
    address = f"new-{uuid.uuid4().hex[:12]}@bench.example"
    r = await call(run, client, emp, "invite", "POST", "/api/v1/invites", json={"email": address})
    if r is not None and r.is_success:
        run.ledger.invites[r.json()["id"]] = address


# What an employee does, and how often (relative weights); admins also invite.
ACTIONS = {
    "feed": (_feed, 30),
    "read": (_read, 14),
    "ack": (_ack, 3),
    "chat_read": (_chat_read, 22),
    "send": (_chat_send, 14),
    "me": (_me, 12),
    "upload": (_upload, 2),
}
ADMIN_ONLY = {"invite": (_invite, 20)}


async def employee(
    run: Run,
    client: aiohttp.ClientSession,
    emp: Employee,
    think: tuple[float, float],
    overrides: dict[str, int],
) -> None:
    # Arrivals are spread over the first minute, as at the start of a shift; people
    # already signed in (a later phase of the fault run) just carry on.
    spread = run.arrivals if not emp.token else think[1]
    await asyncio.sleep(random.uniform(0, min(spread, run.stop_at - run.now())))
    actions = {**ACTIONS, **(ADMIN_ONLY if emp.admin else {})}
    funcs = [f for f, _ in actions.values()]
    weights = [overrides.get(name, w) for name, (_, w) in actions.items()]
    while run.now() < run.stop_at:
        if not emp.token:
            if not await login(run, client, emp):
                await asyncio.sleep(random.uniform(1, 3))
                continue
        await random.choices(funcs, weights)[0](run, client, emp)
        await asyncio.sleep(random.uniform(*think))


def employees(seeded: Seeded, count: int) -> list[Employee]:
    by_user: dict[uuid.UUID, list[uuid.UUID]] = {}
    for conv, people in seeded.conversations.items():
        for p in people:
            by_user.setdefault(p, []).append(conv)
    return [
        Employee(n, uid, mail, role == "admin", by_user.get(uid, [])[:20])
        for n, (uid, mail, role) in enumerate(seeded.users[:count])
    ]


def client_priority() -> None:
    """The simulated phones are other machines: on this one they must not queue behind the
    server for CPU, or their own scheduling delay would be measured as the server's latency.
    (Needs root; without it the run goes on at normal priority.)"""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, -5)


async def drive(
    base: str,
    people: list[Employee],
    seconds: float,
    think: tuple[float, float] = THINK,
    weights: dict[str, int] | None = None,
    *,
    own_addresses: bool = False,
    verify_tls: bool = True,
    arrivals: float = ARRIVALS,
) -> Run:
    """Run the employees for `seconds`; return every sample and the ledger. With
    `own_addresses` each connects from its own loopback address (behind a real proxy,
    which overwrites X-Forwarded-For); `verify_tls` off for a self-signed certificate."""
    run = Run(base=base, arrivals=arrivals)
    run.stop_at = seconds
    w = weights or {}

    async def alone(e: Employee) -> None:
        conn = aiohttp.TCPConnector(limit=4, local_addr=(e.loopback, 0), ssl=verify_tls)
        async with aiohttp.ClientSession(base_url=base, connector=conn) as own:
            await employee(run, own, e, think, w)

    connector = aiohttp.TCPConnector(limit=len(people) + 10, ssl=verify_tls)
    async with aiohttp.ClientSession(base_url=base, connector=connector) as client:
        if own_addresses:
            await asyncio.gather(*(alone(e) for e in people))
        else:
            await asyncio.gather(*(employee(run, client, e, think, w) for e in people))
    return run


def summarise(samples: list[Sample]) -> dict[str, Any]:
    """Counts, error rates and latency percentiles."""
    total = len(samples)
    statuses = Counter(s.status for s in samples)
    failures = sum(1 for s in samples if s.status >= 500 or s.status <= 0)
    lat = sorted(s.ms for s in samples if s.status > 0)

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0

    return {
        "requests": total,
        "failures": failures,
        "failure_rate": failures / total if total else 0.0,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": lat[-1] if lat else 0.0,
        "statuses": dict(sorted(statuses.items())),
    }


def by_name(samples: list[Sample]) -> dict[str, dict[str, Any]]:
    names = sorted({s.name for s in samples})
    return {n: summarise([s for s in samples if s.name == n]) for n in names}


def timeline(samples: list[Sample], step: float = 10.0) -> list[dict[str, Any]]:
    """Requests, failures and latency per `step` seconds of the run."""
    if not samples:
        return []
    buckets: dict[int, list[Sample]] = {}
    for x in samples:
        buckets.setdefault(int(x.at // step), []).append(x)
    return [{"from_s": k * step, **summarise(v)} for k, v in sorted(buckets.items())]
