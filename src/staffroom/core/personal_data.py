"""What each domain holds about a person, for the GDPR export (Art. 15, 20) and erasure
(Art. 17) that compliance runs.

A domain holding personal data writes two functions, `export_for(rt, org_id, user_id)`
(the files it adds to the person's export) and `erase(rt, org_id, user_id)` (deletes or
anonymises what it holds; idempotent), and `wiring.py` registers them on a runtime.
Compliance builds the archive and the audit trail around them and imports no domain's
tables. Core's own share, the audit events about the person, is here too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from staffroom.core.runtime import Runtime
from staffroom.core.tables import AuditEvent

BATCH = 1000  # rows fetched and written at a time

Rows = list[dict[str, Any]]
Shape = Callable[[Rows], Awaitable[Rows]]


async def as_is(rows: Rows) -> Rows:
    return rows


@dataclass(frozen=True)
class Listing:
    """One JSON file of the export: its name, its line in the README, and the person's
    rows a batch at a time (a person's reads or messages can run to hundreds of thousands
    of rows over the years)."""

    name: str
    about: str
    rows: AsyncIterator[Rows]
    # For rows that stand for a stored file: its path in the archive and its blob key, or
    # None when there is no file to copy (not uploaded yet).
    attachment: Callable[[dict[str, Any]], tuple[str, str] | None] | None = None


ExportFor = Callable[[Runtime, uuid.UUID, uuid.UUID], Awaitable[list[Listing]]]
Erase = Callable[[Runtime, uuid.UUID, uuid.UUID], Awaitable[None]]


@dataclass(frozen=True)
class Holder:
    name: str
    export_for: ExportFor
    erase: Erase


@dataclass
class Holders:
    """The domains that registered their personal data, in one app, in order: the export
    lists their files in this order, erasure runs them in the reverse one (accounts,
    registered first, marks the person erased last, so a failure midway leaves an
    erasure that can be run again)."""

    registered: list[Holder] = field(default_factory=list)


def holders(rt: Runtime) -> list[Holder]:
    """This app's holders of personal data, in registration order. A runtime without them
    (built without `wiring.build_runtime`) is refused: its export would be empty and its
    erasure would erase nothing yet be recorded as done."""
    found = list(rt.part(Holders).registered)
    if not found:
        raise RuntimeError("no holders of personal data registered on this runtime")
    return found


def register(rt: Runtime, name: str, export_for: ExportFor, erase: Erase) -> None:
    """Register a holder once (by name)."""
    known = rt.part(Holders).registered
    if all(h.name != name for h in known):
        known.append(Holder(name, export_for, erase))


async def batches(table: Any, where: Any, shape: Shape = as_is) -> AsyncIterator[Rows]:
    """The rows of `table` matching `where` in id order, BATCH at a time, each batch
    shaped by `shape` before it is given out."""
    last = None
    while True:
        query = table.select().where(where if last is None else where & (table.id > last))
        rows = await query.order_by(table.id).limit(BATCH).output(load_json=table is AuditEvent)
        if rows:
            yield await shape(rows)
        if len(rows) < BATCH:
            return
        last = rows[-1]["id"]


async def audit_events_for(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> list[Listing]:
    """The security events the person caused or that concern them, in their org."""
    where = (AuditEvent.org == org_id) & (
        (AuditEvent.actor_id == user_id) | (AuditEvent.target_id == str(user_id))
    )
    about = "security events you caused or that concern you"
    return [Listing("audit_events.json", about, batches(AuditEvent, where))]


async def keep_audit_events(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Erasure keeps the audit events: they are the org's hash-chained record (deleting one
    breaks the chain's verification), hold ids rather than a name or an address, and
    leave with the org's audit retention."""
