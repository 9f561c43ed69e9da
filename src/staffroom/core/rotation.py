"""Rotating refresh tokens with reuse detection, shared by sessions and OAuth grants.

A family (a session, an OAuth grant) owns every refresh token ever issued to it. Using a
token marks it used in one conditional UPDATE, so of two concurrent callers only one
wins; presenting a token that was already used means it was stolen or replayed, and the
caller revokes the whole family (SECURITY.md rule 6).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.table import Table

from staffroom.core.db.sql import column_name


@dataclass(frozen=True)
class Claim:
    """The outcome of presenting a refresh token: its family, and whether it was a reuse."""

    family: uuid.UUID
    org: uuid.UUID
    reused: bool


async def claim(table: type[Table], family: Any, token_hash: str, now: datetime) -> Claim | None:
    """Mark an unused refresh token used and name its family; for a token used before,
    name its family with `reused`; None for a token never issued. `table` has the columns
    token_hash, used_at and org; `family` is its column naming the family."""
    columns: Any = table
    claimed = (
        await table.update({columns.used_at: now})
        .where((columns.token_hash == token_hash) & columns.used_at.is_null())
        .returning(family, columns.org)
    )
    if claimed:
        row = claimed[0]
        return Claim(family=row[column_name(family)], org=row["org"], reused=False)
    known = await table.select(family, columns.org).where(columns.token_hash == token_hash).first()
    if known is None:
        return None
    return Claim(family=known[column_name(family)], org=known["org"], reused=True)
