"""Rows as typed values: what a statement read, as a frozen msgspec Struct naming the
columns a service uses, instead of a `dict[str, Any]` (issue 21 item 7).

A row Struct lists only the columns it needs (a row's others are ignored) and types them
exactly, so a misspelt column or a wrong type is mypy's error, not a KeyError at run
time. Frozen: nothing read from the database changes on its way through a request (a
row reaches caches such as the principal cache's through what is made of it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

R = TypeVar("R", bound=msgspec.Struct)


def row_as(cls: type[R], row: Mapping[str, Any]) -> R:
    """A row (Piccolo's select or a hand-written statement) as `cls`. Converted, not just
    copied: ids that SQLite hands back as text (where it cannot see a column's declared
    type) become UUIDs, and a value of the wrong type fails here, where it was read."""
    return msgspec.convert(row, cls)
