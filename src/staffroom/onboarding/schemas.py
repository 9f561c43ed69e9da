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
    # Who sent it (null once that person's account is gone).
    invited_by: str | None = None


class InviteAcceptIn(Input):
    display_name: Name
    password: NewPassword


class AcceptedOut(TokenPair, kw_only=True):
    user_id: uuid.UUID


ImportOutcome = Literal[
    "invite",
    "already_member",
    "already_invited",
    "domain_not_allowed",
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


RoleKey = Annotated[str, Meta(min_length=1, max_length=64)]
GroupIds = Annotated[list[uuid.UUID], Meta(max_length=100)]
DomainName = Annotated[str, Meta(min_length=1, max_length=253)]


class DomainIn(Input):
    domain: DomainName
    allow_subdomains: bool = False
    default_role: RoleKey = "member"
    default_group_ids: GroupIds = []


class DomainPatch(Input):
    allow_subdomains: bool | msgspec.UnsetType = msgspec.UNSET
    default_role: RoleKey | msgspec.UnsetType = msgspec.UNSET
    default_group_ids: GroupIds | msgspec.UnsetType = msgspec.UNSET


class DnsRecord(msgspec.Struct, kw_only=True):
    """The record to publish to prove control of the domain."""

    type: Literal["TXT"] = "TXT"
    name: str
    value: str


class DomainOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    domain: str
    status: Literal["pending", "verified"]
    verification: DnsRecord
    allow_subdomains: bool
    default_role: str
    default_group_ids: list[uuid.UUID]
    verified_at: datetime | None
    last_checked_at: datetime | None
    last_check_error: str
    created_at: datetime


class DomainList(msgspec.Struct):
    items: list[DomainOut]


class SignupIn(Input):
    org: Annotated[str, Meta(min_length=1, max_length=63)]
    email: Annotated[str, Meta(min_length=3, max_length=320)]


class SignupTokenIn(Input):
    token: Annotated[str, Meta(min_length=1, max_length=256)]


class SignupPublic(msgspec.Struct):
    """What someone following a signup link sees before choosing a password."""

    org: OrgRef
    email: str
    expires_at: datetime


class SignupCompleteIn(Input):
    token: Annotated[str, Meta(min_length=1, max_length=256)]
    display_name: Name
    password: NewPassword


class Person(Input):
    """One pre-provisioned person a code is bound to."""

    employee_id: Annotated[str, Meta(min_length=1, max_length=64)]
    display_name: Name


class CodeBatchIn(Input):
    label: Annotated[str, Meta(min_length=1, max_length=120)]
    count: Annotated[int, Meta(ge=1, le=5000)] | None = None
    role: RoleKey = "member"
    group_ids: GroupIds = []
    expires_in_days: Annotated[int, Meta(ge=1, le=365)] = 30
    people: Annotated[list[Person], Meta(max_length=5000)] = []


class CodeStatusOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    batch_id: uuid.UUID
    seq: int
    status: Literal["unused", "redeemed", "revoked", "expired"]
    bound_user_id: uuid.UUID | None
    employee_id: str | None
    display_name: str | None
    expires_at: datetime
    redeemed_at: datetime | None
    redeemed_by: uuid.UUID | None
    created_at: datetime


class IssuedCode(msgspec.Struct, kw_only=True):
    """A code as handed out: shown once, at creation."""

    id: uuid.UUID
    seq: int
    code: str
    redeem_link: str
    employee_id: str | None = None
    display_name: str | None = None


class CodeBatchOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    label: str
    role: str
    group_ids: list[uuid.UUID]
    size: int
    counts: dict[str, int]
    expires_at: datetime
    created_at: datetime
    revoked_at: datetime | None


class CodeBatchCreated(msgspec.Struct, kw_only=True):
    batch: CodeBatchOut
    codes: list[IssuedCode]


class CodePage(msgspec.Struct):
    items: list[CodeStatusOut]
    next_cursor: str | None


class BatchPage(msgspec.Struct):
    items: list[CodeBatchOut]
    next_cursor: str | None


class RedeemIn(Input):
    org: Annotated[str, Meta(min_length=1, max_length=63)]
    code: Annotated[str, Meta(min_length=1, max_length=64)]
    username: Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")]
    password: NewPassword
    # Required for an unbound code; a bound code keeps the name HR entered.
    display_name: Annotated[str, Meta(max_length=200)] = ""
    # A random id the app keeps for its installation (e.g. a UUID): typing mistakes then
    # slow down that device only, not colleagues behind the same address. Optional.
    device_id: Annotated[
        str,
        Meta(
            max_length=128,
            description="A random id the app keeps per installation; mistyped codes then "
            "slow down only this device, not others sharing its network address.",
        ),
    ] = ""


class PersonOnboardingOut(msgspec.Struct, kw_only=True):
    """What onboarding holds about one person: invitations to their address, how many
    invitations they sent are still pending, and the access codes bound to them."""

    invites: list[InviteOut]
    invites_sent_pending: int
    codes: list[CodeStatusOut]
