"""Request bodies of compliance."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from staffroom.accounts.schemas import Input


class EraseIn(Input):
    # Recorded in the audit trail and the erasure record (not in the ledger).
    reason: Annotated[str, Meta(min_length=3, max_length=500)]
