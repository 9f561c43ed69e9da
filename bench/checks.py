"""After a run: is everything the server acknowledged still there, delivered once, and is
nothing half written? Read straight from PostgreSQL, moto, the SMTP sink and the PubNub
stand-in, never through the API under test."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.loadgen import Ledger
from bench.stack import Stack


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


async def drain(stack: Stack, seconds: float = 150) -> dict[str, int]:
    """Wait until the mail queue and the chat outbox are empty (retries included)."""
    conn = await asyncpg.connect(stack.pg.url)
    try:
        deadline = time.monotonic() + seconds
        while True:
            mail = await conn.fetchval(
                "SELECT count(*) FROM mail_message WHERE status IN ('pending', 'sending')"
            )
            relay = await conn.fetchval(
                "SELECT count(*) FROM chat_outbox WHERE published_at IS NULL"
            )
            if (mail == 0 and relay == 0) or time.monotonic() > deadline:
                return {"mail_queued": mail, "outbox_pending": relay}
            await asyncio.sleep(2)
    finally:
        await conn.close()


async def verify(
    stack: Stack,
    ledger: Ledger,
    logs: str,
    repeat_windows: list[tuple[float, float]] | None = None,
) -> Findings:
    """Every check; `repeat_windows` (wall clock) are crashes and database outages around
    which a relay event may have been published twice (at-least-once delivery)."""
    found = Findings()
    conn = await asyncpg.connect(stack.pg.url)
    try:
        await _ledger(conn, ledger, found)
        await _integrity(conn, found)
        await _mail(conn, stack, ledger, logs, found)
        await _media(conn, stack, ledger, found)
        await _pubnub(conn, stack, ledger, found, repeat_windows or [])
    finally:
        await conn.close()
    try:
        stack.staffroom("audit", "verify")
    except RuntimeError as exc:  # exit 1: the audit chain has a break
        found.problems.append(str(exc)[-500:])
    return found


async def _ledger(conn: asyncpg.Connection, ledger: Ledger, found: Findings) -> None:
    ids = [uuid.UUID(m) for m in ledger.messages]
    have = {
        r["id"] for r in await conn.fetch("SELECT id FROM chat_message WHERE id = ANY($1)", ids)
    }
    found.check(len(have) == len(ids), f"{len(ids) - len(have)} acknowledged messages lost")
    for table, pairs in (("post_read", ledger.reads), ("post_ack", ledger.acks)):
        rows = await conn.fetch(f'SELECT post::text AS post, "user" FROM {table}')
        stored = {(r["post"], r["user"]) for r in rows}
        lost = len(pairs - stored)
        found.check(lost == 0, f"{lost} acknowledged {table} rows lost")
    invites = [uuid.UUID(i) for i in ledger.invites]
    n = await conn.fetchval("SELECT count(*) FROM invite WHERE id = ANY($1)", invites)
    found.check(n == len(invites), f"{len(invites) - n} acknowledged invites lost")
    found.facts["acknowledged_writes"] = (
        len(ids) + len(ledger.reads) + len(ledger.acks) + len(invites) + len(ledger.media)
    )


async def _integrity(conn: asyncpg.Connection, found: Findings) -> None:
    # A message and its conversation's counters are written in one transaction: the
    # counter is the highest seq, seqs have no gaps, every message has its relay events.
    bad = await conn.fetchval(
        """SELECT count(*) FROM chat_conversation c
           LEFT JOIN (SELECT conversation, max(seq) AS top, count(*) AS n FROM chat_message
                      GROUP BY conversation) m ON m.conversation = c.id
           WHERE coalesce(m.top, 0) <> c.last_seq OR coalesce(m.n, 0) <> c.last_seq"""
    )
    found.check(bad == 0, f"{bad} conversations whose counters disagree with their messages")
    orphans = await conn.fetchval(
        """SELECT count(*) FROM chat_message m WHERE m.created_at > now() - interval '1 day'
           AND m.seq > 0 AND NOT EXISTS (SELECT 1 FROM chat_outbox o WHERE o.message = m.id)
           AND m.client_msg_id ~ '^[0-9a-f]{32}$'"""
    )
    found.check(orphans == 0, f"{orphans} messages without their relay events")
    pending_invites = await conn.fetchval(
        """SELECT count(*) FROM invite i WHERE NOT EXISTS
           (SELECT 1 FROM mail_message m WHERE m.to_address = i.email)"""
    )
    found.check(pending_invites == 0, f"{pending_invites} invites without their email")


async def _mail(
    conn: asyncpg.Connection, stack: Stack, ledger: Ledger, logs: str, found: Findings
) -> None:
    delivered = Counter(m["to"] for m in stack.smtp.received)
    missing = [a for a in ledger.invites.values() if delivered[a] == 0]
    found.check(not missing, f"{len(missing)} invite emails never delivered")
    failed = await conn.fetchval("SELECT count(*) FROM mail_message WHERE status = 'failed'")
    found.check(failed == 0, f"{failed} emails given up")
    # The invite links carry the secret tokens: none may appear in any log line.
    tokens = set()
    for m in stack.smtp.received:
        tokens |= set(re.findall(r"/invite/([A-Za-z0-9_-]{20,})", m["text"]))
        tokens |= set(re.findall(r"[?&#]token=([A-Za-z0-9_-]{20,})", m["text"]))
    leaked = [t for t in tokens if t in logs]
    found.check(not leaked, f"{len(leaked)} invite tokens in the server's logs")
    found.check(bool(tokens) or not ledger.invites, "no invite token found in the emails")
    found.facts["emails_delivered"] = len(stack.smtp.received)


async def _media(conn: asyncpg.Connection, stack: Stack, ledger: Ledger, found: Findings) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        region_name="eu-central-1",
        endpoint_url=f"http://127.0.0.1:{stack.s3_gate.target_port}",
    )
    listed = s3.list_objects_v2(Bucket="staffroom-bench").get("Contents", [])
    objects = {o["Key"] for o in listed}
    rows = await conn.fetch("SELECT id::text AS id, key, status FROM media")
    ready = {r["key"] for r in rows if r["status"] == "ready"}
    found.check(ready <= objects, f"{len(ready - objects)} ready media rows without their file")
    lost = ledger.media - {r["id"] for r in rows if r["status"] == "ready"}
    found.check(not lost, f"{len(lost)} completed uploads lost")
    stray = objects - {r["key"] for r in rows}
    found.check(not stray, f"{len(stray)} stored files without a media row")
    found.facts["media_pending"] = sum(1 for r in rows if r["status"] == "pending")


async def _pubnub(
    conn: asyncpg.Connection,
    stack: Stack,
    ledger: Ledger,
    found: Findings,
    windows: list[tuple[float, float]],
) -> None:
    from staffroom.chat.service import access
    from staffroom.core.realtime.pubnub import unseal
    from staffroom.core.runtime import Runtime
    from staffroom.settings import load_settings

    rt = Runtime.build(load_settings())
    try:
        convs = {
            r["channel"]: dict(r)
            for r in await conn.fetch("SELECT id, org, channel, cipher_key FROM chat_conversation")
        }
        keys = {
            ch: access.cipher_key(rt.keys, c["org"], ch, c["cipher_key"]) for ch, c in convs.items()
        }
        seen: Counter[str] = Counter()
        for m in list(stack.pubnub.messages):
            if m["c"] not in keys:
                continue
            payload = unseal(keys[m["c"]], m["d"])
            if payload.get("type") == "message.created":
                seen[payload["message"]["id"]] += 1
    finally:
        await rt.close()
    missing = [m for m in ledger.messages if seen[m] == 0]
    twice = [uuid.UUID(m) for m, n in seen.items() if n > 1]
    sent = await conn.fetch("SELECT id, created_at FROM chat_message WHERE id = ANY($1)", twice)
    # A worker killed (or the database gone) after PubNub took an event but before the
    # outbox row was marked: the event goes out again, devices drop it by event_id.
    near = [
        r["id"]
        for r in sent
        if any(a - 15 <= r["created_at"].timestamp() <= b + 15 for a, b in windows)
    ]
    other = len(twice) - len(near)
    found.check(not missing, f"{len(missing)} acknowledged messages never reached PubNub")
    found.check(other == 0, f"{other} messages published to PubNub more than once")
    found.facts["published_again_after_a_crash_or_db_outage"] = len(near)
    found.facts["pubnub_messages"] = sum(seen.values())
