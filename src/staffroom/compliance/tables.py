"""Compliance tables. The erasure ledger's authoritative copy lives beside the backups
(core/blobs archive), so a restore of an older database can re-apply every erasure."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, OnDelete, Text, Timestamptz
from piccolo.table import Table

from staffroom.accounts.tables import Org


class Erasure(Table, tablename="erasure"):
    """That a person's data was erased, when, by whom and why."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    user_id = UUID(index=True)
    erased_by = UUID(null=True, default=None)
    reason = Text()
    erased_at = Timestamptz()
