"""Tables owned by core: the audit trail and the mail queue."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    """One security-relevant event; rows are only ever inserted."""

    id = UUID(primary_key=True)
    org = UUID(null=True, default=None, index=True)
    actor_type = Varchar(length=20)
    actor_id = UUID(null=True, default=None)
    action = Varchar(length=80, index=True)
    outcome = Varchar(length=20)
    target_type = Varchar(length=40, null=True, default=None)
    target_id = Varchar(length=80, null=True, default=None, index=True)
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")
    request_id = Varchar(length=64, default="")
    details = JSON(default="{}")
    created_at = Timestamptz(index=True, index_method=IndexMethod.btree)
    # The org's hash chain: position, the previous event's MAC and this event's MAC
    # (HMAC-SHA256 with the key file's HMAC key, so the database alone cannot re-forge it).
    chain_seq = BigInt(default=0)
    prev_hash = Varchar(length=64, default="")
    hash = Varchar(length=64, default="")


class AuditChain(Table, tablename="audit_chain"):
    """The head of one audit chain (an org's, or "global" for events without an org).
    Updating it takes its row lock, which orders concurrent events of the chain."""

    id = UUID(primary_key=True)
    chain = Varchar(length=40, unique=True)
    last_seq = BigInt(default=0)
    last_hash = Varchar(length=64, default="")
    # Retention deleted the events up to base_seq; verification starts after it.
    base_seq = BigInt(default=0)
    base_hash = Varchar(length=64, default="")


class MailMessage(Table, tablename="mail_message"):
    """A queued email: kept until delivered, retried with backoff, never silently dropped.

    Its bodies hold live links (invitations, sign-up, resets): they are kept only sealed
    with the data key (`sealed_body`, bound to the message id) and dropped once delivered
    (SECURITY.md rule 1). `text_body` and `html_body` are left from before sealing: new
    rows leave them empty, and delivery empties them on rows queued before the upgrade."""

    id = UUID(primary_key=True)
    org = UUID(null=True, default=None)
    to_address = Varchar(length=320)
    subject = Varchar(length=300)
    text_body = Text(default="")
    html_body = Text(default="")
    sealed_body = Text(default="")
    template = Varchar(length=60)
    status = Varchar(length=20, default="pending", index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    last_error = Varchar(length=500, default="")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
