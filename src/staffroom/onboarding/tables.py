"""Onboarding tables. Secrets are stored only as HMAC digests."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
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


class DomainBinding(Table, tablename="domain_binding"):
    """An org's claim on an email domain; it binds once the DNS TXT proof is verified.

    Several orgs may claim a domain, so nobody can squat a name they do not control;
    the first to prove it gets the verified binding (accounts.OrgDomain, unique per domain).
    """

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    domain = Varchar(length=253, index=True)
    # Published in public DNS, so not a secret: stored as is and shown again on request.
    txt_value = Varchar(length=100)
    allow_subdomains = Boolean(default=False)
    default_role = Varchar(length=64, default="member")
    default_group_ids = JSON(default="[]")
    verified_at = Timestamptz(null=True, default=None)
    last_checked_at = Timestamptz(null=True, default=None)
    last_check_error = Varchar(length=300, default="")
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz(index=True)


class SignupRequest(Table, tablename="signup_request"):
    """A self-signup link sent to an address in a bound domain; single use, 24 h."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    email = Varchar(length=320, index=True)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    user = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz()


class AccessCodeBatch(Table, tablename="code_batch"):
    """Printed one-time codes handed out together (one shift, one site)."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    label = Varchar(length=120)
    role = Varchar(length=64)
    group_ids = JSON(default="[]")
    size = Integer()
    expires_at = Timestamptz()
    created_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz(index=True)
    revoked_at = Timestamptz(null=True, default=None)


class AccessCode(Table, tablename="access_code"):
    """One human-typed code (HMAC digest only), optionally bound to a pre-provisioned user."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    batch = ForeignKey(AccessCodeBatch, on_delete=OnDelete.cascade, null=False, index=True)
    # Card number within the batch: lets HR name a card without revealing any of the code.
    seq = Integer()
    code_hash = Varchar(length=64, unique=True)
    bound_user = ForeignKey(User, on_delete=OnDelete.cascade, null=True, default=None, index=True)
    expires_at = Timestamptz()
    redeemed_at = Timestamptz(null=True, default=None)
    redeemed_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
