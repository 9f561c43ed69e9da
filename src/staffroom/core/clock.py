"""The one source of the current time, so tests can move it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_offset = 0.0


def now_ts() -> float:
    """Seconds since the epoch, shifted by any test offset."""
    return time.time() + _offset


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.fromtimestamp(now_ts(), tz=UTC)


def travel(seconds: float) -> None:
    """Move the clock forwards (tests only: token expiry, lockouts)."""
    global _offset
    _offset += seconds


def reset() -> None:
    """Undo every travel()."""
    global _offset
    _offset = 0.0


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as aware UTC (SQLite may hand back naive or offset values)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
