"""The chat outbox: events are written with the change that made them and relayed later.

`bump` takes the conversation's row lock and hands out the next event position, so within
a conversation positions follow commit order. The dispatcher publishes each target's rows
of a conversation in position order, claims a row before publishing it (so two
dispatchers never publish the same row) and backs off while a relay is down. A row whose
publication succeeded is marked at once; only a crash between the two could repeat an
event, and every event carries its `event_id` for devices to drop a repeat.

A stream waiting for a retry is left out of the batch, so it cannot crowd out the others.
The rows are jobs of the job engine (`core/jobs`, `OUTBOX_JOBS`): claimed with a lease,
retried 1 s doubling to a minute. An outage (relay or database unreachable) is retried
for as long as it lasts. An event the relay refuses, or one failing every try for
another reason, is abandoned after `MAX_ATTEMPTS` (logged, counted in the metrics) and
its stream goes on: the message itself is stored, and apps fetch what they missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from staffroom.chat.service import payloads
from staffroom.chat.tables import Conversation, Outbox
from staffroom.core import clock
from staffroom.core.db.engine import outage_errors
from staffroom.core.db.sql import bulk_insert, fetch
from staffroom.core.jobs import NOW, Backoff, JobQueue, JobTable, Outcome, Policy
from staffroom.core.realtime import RelayRejected, RelayUnavailable
from staffroom.core.runtime import Runtime

log = logging.getLogger("staffroom.chat.outbox")
CLAIM_SECONDS = 30
MAX_BACKOFF_SECONDS = 60
BATCH = 500
# Tries of an event that fails for a reason other than an outage (about four minutes of
# backing off) before it is abandoned.
MAX_ATTEMPTS = 8
# A relay or the database unreachable: retried for as long as it lasts.
_OUTAGES: tuple[type[Exception], ...] = (RelayUnavailable, *outage_errors())

OUTBOX_JOBS = JobTable(
    name="chat relay",
    table=Outbox,
    open="published_at IS NULL AND abandoned_at IS NULL",
    given_up="published_at IS NULL AND abandoned_at IS NOT NULL",
    done={"published_at": NOW},
    give_up={"abandoned_at": NOW},
    reopen={"abandoned_at": None},
    done_at="published_at",
    given_up_at="abandoned_at",
    claim_returns="id, attempts, created_at",
)
JOBS = JobQueue(
    OUTBOX_JOBS,
    Policy(
        backoff=Backoff(first=1, cap=MAX_BACKOFF_SECONDS),
        lease=timedelta(seconds=CLAIM_SECONDS),
        max_tries=MAX_ATTEMPTS,
        final=(RelayRejected,),
        outages=_OUTAGES,
    ),
)


# Every relay target there is (a process may have fewer: PubNub when configured).
ALL_TARGETS = ("socket", "pubnub")


def targets(rt: Runtime) -> list[str]:
    """Where events go: the built-in relay always, PubNub when configured."""
    return ["socket", "pubnub"] if rt.pubnub is not None else ["socket"]


# The statements of every send and every relayed event, written by hand (Piccolo's
# query building cost more Python than they take in the database).
_BUMP = (
    "UPDATE chat_conversation SET last_event = last_event + 1{message}"
    " WHERE id = {{}} RETURNING last_seq, last_event"
)
_BUMP_MESSAGE = ", last_seq = last_seq + 1, last_message_at = {}"
# Every send wakes the dispatcher, which starts with this: the due rows of this process's
# targets, leaving out every stream (a conversation's rows for one target) whose head is
# waiting for a retry or is being published by another dispatcher. A target this process
# does not have (PubNub not configured here) is left to a process that has it.
_PENDING = (
    "SELECT * FROM chat_outbox o WHERE o.published_at IS NULL AND o.abandoned_at IS NULL"
    " AND o.target IN ({targets}) AND o.next_attempt_at <= {{}}"
    " AND NOT EXISTS (SELECT 1 FROM chat_outbox b WHERE b.conversation = o.conversation"
    " AND b.target = o.target AND b.published_at IS NULL AND b.abandoned_at IS NULL"
    " AND b.next_attempt_at > {{}}) ORDER BY o.created_at, o.position LIMIT {{}}"
)
_PENDING_FOR = {
    tuple(to): _PENDING.format(targets=", ".join(f"'{t}'" for t in to))
    for to in (["socket"], ["socket", "pubnub"])
}


async def bump(
    conversation_id: uuid.UUID, *, message: bool = False, now: datetime | None = None
) -> tuple[int, int]:
    """Inside a transaction: lock the conversation and return (last_seq, event position)."""
    if message:
        sql = _BUMP.format(message=_BUMP_MESSAGE)
        rows = await fetch(Conversation, sql, now or clock.utcnow(), conversation_id)
    else:
        rows = await fetch(Conversation, _BUMP.format(message=""), conversation_id)
    return int(rows[0]["last_seq"]), int(rows[0]["last_event"])


async def _insert(
    org_id: uuid.UUID,
    conversation_id: uuid.UUID | None,
    position: int,
    event: str,
    to: list[str],
    *,
    message_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    now = clock.utcnow()
    rows = [
        Outbox(
            id=uuid.uuid4(),
            org=org_id,
            conversation=conversation_id,
            position=position,
            target=target,
            event=event,
            message=message_id,
            data=data or {},
            next_attempt_at=now,
            created_at=now,
        )
        for target in to
    ]
    await bulk_insert(Outbox, rows)


async def enqueue(
    rt: Runtime,
    org_id: uuid.UUID,
    conversation_id: uuid.UUID | None,
    position: int,
    event: str,
    *,
    message_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Queue an event for every relay target (inside the change's transaction)."""
    await _insert(
        org_id, conversation_id, position, event, targets(rt), message_id=message_id, data=data
    )


async def enqueue_revocation(
    org_id: uuid.UUID,
    token_id: uuid.UUID,
    conversation_id: uuid.UUID | None = None,
    position: int = 0,
) -> None:
    """Queue revoking a PubNub token (only PubNub has tokens). Given a conversation, it
    goes into that conversation's stream: after the removal event, before any later message."""
    await _insert(
        org_id,
        conversation_id,
        position,
        "token.revoke",
        ["pubnub"],
        data={"token_id": str(token_id)},
    )


# Rows per INSERT: well under both databases' limit on bound values (~32,000).
_INSERT_CHUNK = 1000


async def enqueue_inbox(
    rt: Runtime,
    org_id: uuid.UUID,
    conversation_id: uuid.UUID,
    position: int,
    joined: bool,
    user_ids: list[uuid.UUID],
    reason: str,
) -> None:
    """Queue telling each of these people of their own membership change (inside the
    change's transaction, in the conversation's stream: before any revocation of theirs)."""
    now = clock.utcnow()
    rows = [
        Outbox(
            id=uuid.uuid4(),
            org=org_id,
            conversation=conversation_id,
            position=position,
            target=target,
            event=payloads.JOINED if joined else payloads.LEFT,
            message=None,
            data={"user_id": str(user_id), "reason": reason},
            next_attempt_at=now,
            created_at=now,
        )
        for user_id in user_ids
        for target in targets(rt)
    ]
    for start in range(0, len(rows), _INSERT_CHUNK):
        await bulk_insert(Outbox, rows[start : start + _INSERT_CHUNK])


def wake(rt: Runtime) -> None:
    """Tell this process's dispatcher there is work (after the transaction committed)."""
    rt.relay_wakeup.set()


async def dispatch_once(rt: Runtime, limit: int = BATCH) -> int:
    """Publish what is due; returns how many events went out."""
    now = clock.utcnow()
    pending = await fetch(Outbox, _PENDING_FOR[tuple(targets(rt))], now, now, limit)
    streams: dict[tuple[str, Any], list[dict[str, Any]]] = defaultdict(list)
    for row in pending:
        if isinstance(row["data"], str):
            row["data"] = json.loads(row["data"])
        key = row["conversation"] if row["conversation"] is not None else row["id"]
        streams[(row["target"], key)].append(row)
    results = await asyncio.gather(
        *(_run_stream(rt, sorted(rows, key=_order)) for rows in streams.values())
    )
    return sum(results)


def _order(row: dict[str, Any]) -> tuple[int, bool]:
    # A revocation shares its removal's position and follows it.
    return row["position"], row["event"] == "token.revoke"


async def _run_stream(rt: Runtime, rows: list[dict[str, Any]]) -> int:
    sent = 0
    for row in rows:
        now = clock.utcnow()
        claimed = await JOBS.claim(row["id"], now) if row["next_attempt_at"] <= now else None
        if claimed is None:
            break  # waiting for a retry, or another dispatcher has it: keep the order
        try:
            await payloads.publish(rt, row)
        except Exception as exc:  # the policy retries or abandons the event
            if await JOBS.failed(claimed, exc) is Outcome.GIVEN_UP:
                _abandoned(row, int(claimed["attempts"]), exc)
                continue
            if not isinstance(exc, _OUTAGES):  # an outage: retried for as long as it lasts
                log.exception("relaying chat event %s failed", row["id"])
            break
        await JOBS.done(row["id"])
        sent += 1
    return sent


def _abandoned(row: dict[str, Any], tries: int, exc: Exception) -> None:
    log.error(
        "chat event %s (%s to %s, conversation %s) abandoned after %d tries: %s",
        row["id"],
        row["event"],
        row["target"],
        row["conversation"],
        tries,
        f"{type(exc).__name__}: {exc}"[:300],
        exc_info=not isinstance(exc, RelayRejected),
    )


def _unpublished(target: str, *, abandoned: bool) -> Any:
    where = Outbox.published_at.is_null() & (Outbox.target == target)
    return where & (
        Outbox.abandoned_at.is_not_null() if abandoned else Outbox.abandoned_at.is_null()
    )


async def depth(target: str) -> tuple[int, int]:
    """(events waiting, events abandoned and kept) for one relay target (the metrics)."""
    counts = await OUTBOX_JOBS.counts("target = {}", target)
    return counts.open, counts.given_up


async def status() -> list[dict[str, Any]]:
    """Per relay target: events waiting, the oldest of them, events abandoned (kept a week)
    and the latest abandoned ones with their errors (for `staffroom relay status`)."""
    report = []
    for target in ALL_TARGETS:
        waiting, abandoned = await depth(target)
        oldest = (
            await Outbox.select(Outbox.created_at)
            .where(_unpublished(target, abandoned=False))
            .order_by(Outbox.created_at)
            .first()
        )
        latest = (
            await Outbox.select(
                Outbox.id,
                Outbox.event,
                Outbox.conversation,
                Outbox.abandoned_at,
                Outbox.last_error,
            )
            .where(_unpublished(target, abandoned=True))
            .order_by(Outbox.abandoned_at, ascending=False)
            .limit(5)
        )
        report.append(
            {
                "target": target,
                "waiting": waiting,
                "oldest_waiting": oldest["created_at"] if oldest else None,
                "abandoned": abandoned,
                "latest_abandoned": latest,
            }
        )
    return report


async def requeue_abandoned(since: datetime) -> int:
    """Relay again the events abandoned since then (once the cause is fixed). They go out
    after later events of their conversation already did: apps order messages by seq and
    drop repeats by event_id."""
    return await OUTBOX_JOBS.requeue(since)


async def abandoned_since(org_id: uuid.UUID, since: datetime) -> int:
    """How many of an org's chat events were given up on since then (the console's home)."""
    counts = await OUTBOX_JOBS.counts("org = {} AND abandoned_at >= {}", org_id, since)
    return counts.given_up
