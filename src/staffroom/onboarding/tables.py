"""Onboarding tables. Secrets are stored only as HMAC digests."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from staffroom.accounts.tables import Org, User


class Invite(Table, tablename="invite"):
    """An email invitation; its link token is single use and expires."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    email = Varchar(length=320, index=True)
    role = Varchar(length=64)
    group_ids = JSON(default="[]")
    display_name = Varchar(length=200, default="")
    employee_id = Varchar(length=64, default="")
    token_hash = Varchar(length=64, unique=True)
    # pending | accepted | revoked ("expired" is pending past expires_at)
    status = Varchar(length=20, default="pending", index=True)
    expires_at = Timestamptz()
    invited_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    accepted_user = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    sent_count = Integer(default=1)
    created_at = Timestamptz(index=True)
    last_sent_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
