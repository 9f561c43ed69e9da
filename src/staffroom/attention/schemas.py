"""Response bodies of the attention list (msgspec Structs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

Kind = Literal[
    "domain_unverified",
    "idp_certificate_expiring",
    "sso_failures",
    "relay_abandoned",
    "mail_failed",
    "mail_delayed",
    "mfa_missing",
]


class AttentionItem(msgspec.Struct, kw_only=True):
    """One thing to look at, and the console page where it is fixed."""

    kind: Kind
    # critical: something fails now (an expired certificate, mail given up on);
    # warning: something will fail, or fails for some.
    severity: Literal["warning", "critical"]
    # How many: failed attempts, events, messages, people (1 for a domain or certificate).
    count: int
    # What it is about: a domain, an identity provider's name ("" for the whole org).
    subject: str = ""
    target_id: uuid.UUID | None = None
    # A certificate's days until expiry (negative: expired that many days ago).
    days_left: int | None = None
    # Since when: a domain's claim, the oldest delayed mail.
    since: datetime | None = None
    # The console path where it is fixed (None: on the server, by its operator).
    link: str | None = None


class AttentionList(msgspec.Struct, kw_only=True):
    items: list[AttentionItem]
    checked_at: datetime
