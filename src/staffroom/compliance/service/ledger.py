"""The erasure ledger: one small object per erased person beside the backups (outside the
database), so restoring a backup taken before an erasure erases that person again."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from staffroom.core.runtime import Runtime

PREFIX = "ledger/erasures/"


def _key(org_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"{PREFIX}{org_id}/{user_id}.json"


async def write(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID, when: datetime) -> None:
    """Record an erasure (ids and time only: the ledger holds no personal data)."""
    doc = {"org": str(org_id), "user_id": str(user_id), "erased_at": when.isoformat()}
    await rt.archive.put(_key(org_id, user_id), json.dumps(doc).encode())


async def entries(rt: Runtime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Every (org, user) ever erased."""
    found = []
    for key in await rt.archive.keys(PREFIX):
        raw = await rt.archive.get(key)
        if raw is None:
            continue
        doc = json.loads(raw)
        found.append((uuid.UUID(doc["org"]), uuid.UUID(doc["user_id"])))
    return found
