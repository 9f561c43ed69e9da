"""Request and response bodies of onboarding (msgspec Structs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from staffroom.accounts.schemas import Input, Name, NewPassword, OrgRef, TokenPair

InviteStatus = Literal["pending", "accepted", "expired", "revoked"]


class InviteIn(Input):
    email: Annotated[str, Meta(min_length=3, max_length=320)]
    role: Annotated[str, Meta(min_length=1, max_length=64)] = "member"
    group_ids: Annotated[list[uuid.UUID], Meta(max_length=100)] = []
    display_name: Annotated[str, Meta(max_length=200)] = ""


class InviteOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    role: str
    group_ids: list[uuid.UUID]
    display_name: str
    employee_id: str
    status: InviteStatus
    expires_at: datetime
    created_at: datetime
    last_sent_at: datetime
    sent_count: int
    accepted_user_id: uuid.UUID | None


class InvitePage(msgspec.Struct):
    items: list[InviteOut]
    next_cursor: str | None


class InvitePublic(msgspec.Struct):
    """What the invitee sees before accepting."""

    org: OrgRef
    email: str
    display_name: str
    expires_at: datetime


class InviteAcceptIn(Input):
    display_name: Name
    password: NewPassword


class AcceptedOut(TokenPair, kw_only=True):
    user_id: uuid.UUID


ImportOutcome = Literal[
    "invite",
    "already_member",
    "already_invited",
    "duplicate_row",
    "invalid_email",
    "unknown_role",
    "role_not_allowed",
    "unknown_group",
    "formula_cell",
]


class ImportRow(msgspec.Struct, kw_only=True):
    line: int
    email: str
    outcome: ImportOutcome
    detail: str = ""


class ImportReport(msgspec.Struct, kw_only=True):
    dry_run: bool
    total: int
    invited: int
    counts: dict[str, int]
    rows: list[ImportRow]
