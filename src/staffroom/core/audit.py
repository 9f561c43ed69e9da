"""The append-only audit trail of security events (SECURITY.md rule 13).

Each org's events form a hash chain: an event stores its position, the MAC of the event
before it and its own MAC over every field (HMAC-SHA256 under the key file's HMAC key).
`verify` finds an edited, inserted or deleted event; exports carry the MACs for a SIEM.

The MAC key is the runtime's (the key file's HMAC key), bound for the work at hand: per
request by `core/web.py::RequestIdMiddleware`, for the background work by the app's
lifespan, for a command or a test by `Runtime.build`. A context variable, not a
global: two apps in one process each sign with their own key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from staffroom.core import clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.sql import bulk_insert, fetch, transaction
from staffroom.core.tables import AuditChain, AuditEvent

# Keys that must never be written into details, whatever a caller passes.
_SECRET_KEYS = ("password", "token", "secret", "code", "hash", "key")
GLOBAL_CHAIN = "global"
_mac_key: ContextVar[bytes] = ContextVar("staffroom_audit_mac_key")


def use_key(key: bytes) -> Token[bytes]:
    """Sign (and verify) the chain with this key in the current context and the tasks
    it starts (the runtime's key: see the module's docstring)."""
    return _mac_key.set(key)


def _key() -> bytes:
    try:
        return _mac_key.get()
    except LookupError:
        # A bug, never a client's doing: no event goes unsigned or under a stray key.
        raise RuntimeError("no audit key is bound: record events under a runtime") from None


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if not any(s in k.lower() for s in _SECRET_KEYS)}


def chain_of(org_id: uuid.UUID | str | None) -> str:
    """The chain an event belongs to."""
    return str(org_id) if org_id else GLOBAL_CHAIN


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return str(value)


def mac(row: dict[str, Any]) -> str:
    """The MAC of one event over all its fields and its place in the chain."""
    fields = [
        chain_of(row["org"]),
        str(row["chain_seq"]),
        row["prev_hash"],
        str(row["id"]),
        row["actor_type"],
        str(row["actor_id"] or ""),
        row["action"],
        row["outcome"],
        row["target_type"] or "",
        row["target_id"] or "",
        row["ip"],
        row["user_agent"],
        row["request_id"],
        json.dumps(row["details"], sort_keys=True, separators=(",", ":"), default=str),
        _stamp(clock.as_utc(row["created_at"])),
    ]
    return hmac.new(_key(), "\x1f".join(fields).encode(), hashlib.sha256).hexdigest()


async def record(
    action: str,
    *,
    outcome: str = "success",
    ctx: RequestContext | None = None,
    org_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    actor_type: str = "user",
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event: who, what, target, outcome, when, from where."""
    ctx = ctx or RequestContext()
    if actor_id is None and actor_type == "user":
        actor_type = "anonymous"
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "org": org_id,
        "actor_type": actor_type,
        "actor_id": actor_id,
        "action": action,
        "outcome": outcome,
        "target_type": target_type,
        "target_id": str(target_id) if target_id is not None else None,
        "ip": ctx.ip[:64],
        "user_agent": ctx.user_agent[:300],
        "request_id": ctx.request_id[:64],
        "details": _clean(details or {}),
        "created_at": clock.utcnow(),
    }
    chain = chain_of(org_id)
    async with transaction(AuditEvent):
        # Taking the next place locks the chain's head until commit: events of one
        # chain line up one after another. A chain's first event makes its head.
        head = await fetch(AuditChain, _NEXT_PLACE, chain)
        if not head:
            await fetch(AuditChain, _NEW_CHAIN, uuid.uuid4(), chain)
            head = await fetch(AuditChain, _NEXT_PLACE, chain)
        row["chain_seq"] = int(head[0]["last_seq"])
        row["prev_hash"] = head[0]["last_hash"]
        row["hash"] = mac(row)
        # Stored as Piccolo stores a JSON column (json.dumps, default=str): verify reads it.
        stored = {**row, "details": json.dumps(row["details"], default=str)}
        await bulk_insert(AuditEvent, [AuditEvent(**stored)])
        await fetch(AuditChain, _NEW_HEAD, row["hash"], chain)


# Every security event is recorded on the request's path (sign-ins, invites, posts …):
# three hand-written statements, where Piccolo built four at ~0.5 ms of Python each.
_NEXT_PLACE = (
    "UPDATE audit_chain SET last_seq = last_seq + 1 WHERE chain = {} RETURNING last_seq, last_hash"
)
_NEW_CHAIN = (
    "INSERT INTO audit_chain (id, chain, last_seq, last_hash, base_seq, base_hash)"
    " VALUES ({}, {}, 0, '', 0, '') ON CONFLICT (chain) DO NOTHING"
)
_NEW_HEAD = "UPDATE audit_chain SET last_hash = {} WHERE chain = {}"


async def by(
    principal: Principal,
    ctx: RequestContext,
    action: str,
    target: tuple[str, uuid.UUID],
    details: dict[str, Any] | None = None,
) -> None:
    """Append what a signed-in user did to one object of their org."""
    await record(
        action,
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type=target[0],
        target_id=target[1],
        details=details,
    )


Problem = Literal["edited", "missing", "reordered", "head_mismatch"]


@dataclass(frozen=True)
class Break:
    """Where a chain does not hold."""

    chain: str
    chain_seq: int
    event_id: str
    problem: Problem


@dataclass(frozen=True)
class VerifyReport:
    chains: int
    events: int
    breaks: list[Break]


async def _chain_events(chain: str, batch: int = 2000) -> AsyncIterator[dict[str, Any]]:
    org_filter = (
        AuditEvent.org.is_null() if chain == GLOBAL_CHAIN else AuditEvent.org == uuid.UUID(chain)
    )
    after = 0
    while True:
        rows = await (
            AuditEvent.select()
            .where(org_filter & (AuditEvent.chain_seq > after))
            .order_by(AuditEvent.chain_seq)
            .limit(batch)
            .output(load_json=True)
        )
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1]["chain_seq"]


async def verify(on_chain: Any = None, *, org_id: uuid.UUID | None = None) -> VerifyReport:
    """Check every chain (or one org's): each MAC, each link, no gaps, and the head
    matches the end."""
    query = AuditChain.select()
    if org_id is not None:
        query = query.where(AuditChain.chain == chain_of(org_id))
    heads = await query.order_by(AuditChain.chain)
    breaks: list[Break] = []
    events = 0
    for done, head in enumerate(heads, start=1):
        expected_seq, prev = head["base_seq"] + 1, head["base_hash"]
        last_id = ""
        async for row in _chain_events(head["chain"]):
            events += 1
            last_id = str(row["id"])
            if row["chain_seq"] != expected_seq:
                breaks.append(Break(head["chain"], expected_seq, last_id, "missing"))
            elif row["prev_hash"] != prev:
                breaks.append(Break(head["chain"], row["chain_seq"], last_id, "reordered"))
            if not hmac.compare_digest(mac(row), row["hash"]):
                breaks.append(Break(head["chain"], row["chain_seq"], last_id, "edited"))
            expected_seq, prev = row["chain_seq"] + 1, row["hash"]
        if head["last_seq"] != expected_seq - 1 or head["last_hash"] != prev:
            breaks.append(Break(head["chain"], head["last_seq"], last_id, "head_mismatch"))
        if on_chain is not None:
            on_chain(done, len(heads))
    return VerifyReport(chains=len(heads), events=events, breaks=breaks)


def as_json_line(row: dict[str, Any]) -> str:
    """One event as a JSON Lines record for a SIEM (with its chain MACs)."""
    doc = {
        "id": str(row["id"]),
        "org": str(row["org"]) if row["org"] else None,
        "chain_seq": row["chain_seq"],
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
        "created_at": _stamp(clock.as_utc(row["created_at"])),
        "actor_type": row["actor_type"],
        "actor_id": str(row["actor_id"]) if row["actor_id"] else None,
        "action": row["action"],
        "outcome": row["outcome"],
        "target_type": row["target_type"],
        "target_id": row["target_id"],
        "ip": row["ip"],
        "user_agent": row["user_agent"],
        "request_id": row["request_id"],
        "details": row["details"],
    }
    return json.dumps(doc, separators=(",", ":"), default=str)


async def export(
    org_id: uuid.UUID | None, since: datetime | None, batch: int = 2000
) -> AsyncIterator[str]:
    """JSON Lines of one org's events (or every org's), oldest first, from `since`."""
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = AuditEvent.select()
        if org_id is not None:
            query = query.where(AuditEvent.org == org_id)
        if since is not None:
            query = query.where(AuditEvent.created_at >= since)
        if after is not None:
            stamp, last_id = after
            query = query.where(
                (AuditEvent.created_at > stamp)
                | ((AuditEvent.created_at == stamp) & (AuditEvent.id > last_id))
            )
        rows = await (
            query.order_by(AuditEvent.created_at)
            .order_by(AuditEvent.id)
            .limit(batch)
            .output(load_json=True)
        )
        for row in rows:
            yield as_json_line(row) + "\n"
        if len(rows) < batch:
            return
        after = (rows[-1]["created_at"], rows[-1]["id"])


async def trim(org_id: uuid.UUID, before: datetime) -> int:
    """Retention: delete an org's events older than `before`, as a prefix of its chain,
    and move the chain's base so verification starts after them."""
    chain = chain_of(org_id)
    last_old = await (
        AuditEvent.select(AuditEvent.chain_seq, AuditEvent.hash)
        .where((AuditEvent.org == org_id) & (AuditEvent.created_at < before))
        .order_by(AuditEvent.chain_seq, ascending=False)
        .first()
    )
    if last_old is None:
        return 0
    async with transaction(AuditEvent):
        await AuditChain.update(
            {AuditChain.base_seq: last_old["chain_seq"], AuditChain.base_hash: last_old["hash"]}
        ).where((AuditChain.chain == chain) & (AuditChain.base_seq < last_old["chain_seq"]))
        gone = await (
            AuditEvent.delete()
            .where((AuditEvent.org == org_id) & (AuditEvent.chain_seq <= last_old["chain_seq"]))
            .returning(AuditEvent.id)
        )
    return len(gone)
