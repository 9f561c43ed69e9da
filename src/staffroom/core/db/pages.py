"""Keyset pagination: opaque cursors for lists ordered by (created_at, id) descending."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from staffroom.core.errors import Invalid


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    """An opaque keyset cursor for lists ordered by (created_at, id) descending."""
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Parse a cursor made by encode_cursor; garbage is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, row_id = json.loads(raw)
        return datetime.fromisoformat(stamp), uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise Invalid("invalid_cursor", "The cursor is not valid.") from exc


def page_filter(table: Any, cursor: str | None) -> Any:
    """The WHERE clause that continues a (created_at, id) descending list after cursor."""
    if not cursor:
        return None
    stamp, row_id = decode_cursor(cursor)
    return (table.created_at < stamp) | ((table.created_at == stamp) & (table.id < row_id))


def page_of(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """Split rows fetched with limit + 1 into the page and the cursor of the next one."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
