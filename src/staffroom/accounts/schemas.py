"""Request and response bodies of the accounts API (msgspec Structs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from staffroom.core.web import plain_date_times

Slug = Annotated[str, Meta(min_length=1, max_length=63)]
Login = Annotated[str, Meta(min_length=1, max_length=320)]
# Policy (10..1024) is checked by the service so the client gets a precise code;
# this bound only stops absurd bodies.
NewPassword = Annotated[str, Meta(max_length=4096)]
Password = Annotated[str, Meta(min_length=1, max_length=4096)]
Code = Annotated[str, Meta(min_length=1, max_length=64)]
Token = Annotated[str, Meta(min_length=1, max_length=256)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Locale = Literal["en", "de"]
# "enrol": the org requires MFA and the session may only set it up
SessionScope = Literal["full", "enrol"]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies reject unknown fields: no mass assignment of org, role or ids."""

    def __post_init__(self) -> None:
        plain_date_times(self)


class LoginIn(Input):
    org: Slug
    login: Login
    password: Password


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    # null for the web app: its refresh token is an HttpOnly cookie (accounts/web_session.py)
    refresh_token: str | None
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    scope: SessionScope = "full"


class MfaChallenge(msgspec.Struct, kw_only=True):
    mfa_required: bool
    mfa_token: str
    expires_in: int


class MfaIn(Input):
    mfa_token: Token
    code: Code


class RefreshIn(Input):
    # Omitted by the web app, whose refresh token is in its cookie.
    refresh_token: Token | None = None


class DiscoverIn(Input):
    email: Login


class DiscoveredOrg(msgspec.Struct):
    slug: str
    name: str
    methods: list[str]


class DiscoverOut(msgspec.Struct):
    email: str
    orgs: list[DiscoveredOrg]


class ResetRequestIn(Input):
    org: Slug
    login: Login


class ResetConfirmIn(Input):
    token: Token
    password: NewPassword


class EmailChangeIn(Input):
    email: Login
    password: Password


class EmailConfirmIn(Input):
    token: Token


class PasswordChangeIn(Input):
    current_password: Password
    new_password: NewPassword


class OrgRef(msgspec.Struct):
    id: uuid.UUID
    slug: str
    name: str


class UserOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str | None
    username: str | None
    display_name: str
    employee_id: str | None
    role: str
    status: str
    locale: str
    group_ids: list[uuid.UUID]
    mfa_enabled: bool
    email_verified: bool
    created_at: datetime
    last_login_at: datetime | None


class MeOut(UserOut, kw_only=True):
    org: OrgRef
    permissions: list[str]
    session_scope: str


class MePatch(Input):
    display_name: Name | UnsetType = UNSET
    locale: Locale | UnsetType = UNSET


class UserPatch(Input):
    display_name: Name | UnsetType = UNSET
    role: Annotated[str, Meta(min_length=1, max_length=64)] | UnsetType = UNSET
    group_ids: Annotated[list[uuid.UUID], Meta(max_length=500)] | UnsetType = UNSET


class UserPage(msgspec.Struct):
    items: list[UserOut]
    next_cursor: str | None


class SessionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    ip: str
    user_agent: str
    scope: str
    mfa: bool
    current: bool


class TotpSetupOut(msgspec.Struct):
    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpConfirmIn(Input):
    code: Code


class TotpDisableIn(Input):
    password: Password
    code: Code


class RecoveryCodesOut(msgspec.Struct):
    recovery_codes: list[str]


class OrgOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    slug: str
    name: str
    require_mfa: bool
    password_login: bool
    default_locale: str
    invite_ttl_days: int
    invite_daily_cap: int
    restrict_email_domains: bool
    chat_retention_days: int | None
    post_retention_days: int | None
    audit_retention_days: int | None
    session_idle_hours: int | None
    session_absolute_hours: int | None
    created_at: datetime


class OrgPatch(Input):
    name: Name | UnsetType = UNSET
    require_mfa: bool | UnsetType = UNSET
    password_login: bool | UnsetType = UNSET
    default_locale: Locale | UnsetType = UNSET
    invite_ttl_days: Annotated[int, Meta(ge=1, le=90)] | UnsetType = UNSET
    invite_daily_cap: Annotated[int, Meta(ge=1, le=100_000)] | UnsetType = UNSET
    restrict_email_domains: bool | UnsetType = UNSET
    # null keeps chat messages for ever
    chat_retention_days: Annotated[int, Meta(ge=1, le=3650)] | UnsetType | None = UNSET
    post_retention_days: Annotated[int, Meta(ge=1, le=3650)] | UnsetType | None = UNSET
    # The audit trail is kept at least 90 days (security investigations need history).
    audit_retention_days: Annotated[int, Meta(ge=90, le=3650)] | UnsetType | None = UNSET
    # null: the server's lifetimes; an org can only shorten them (a longer one has no effect)
    session_idle_hours: Annotated[int, Meta(ge=1, le=8760)] | UnsetType | None = UNSET
    session_absolute_hours: Annotated[int, Meta(ge=1, le=8760)] | UnsetType | None = UNSET


class GroupIn(Input):
    name: Annotated[str, Meta(min_length=1, max_length=120)]
    kind: Literal["department", "location", "team"] = "team"
    description: Annotated[str, Meta(max_length=500)] = ""


class GroupPatch(Input):
    name: Annotated[str, Meta(min_length=1, max_length=120)] | UnsetType = UNSET
    kind: Literal["department", "location", "team"] | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=500)] | UnsetType = UNSET


class GroupOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    kind: str
    description: str
    member_count: int
    created_at: datetime


class GroupMembersIn(Input):
    user_ids: Annotated[list[uuid.UUID], Meta(min_length=1, max_length=1000)]


class RoleIn(Input):
    key: Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    permissions: Annotated[list[str], Meta(max_length=100)]


class RolePatch(Input):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | UnsetType = UNSET
    permissions: Annotated[list[str], Meta(max_length=100)] | UnsetType = UNSET


class RoleOut(msgspec.Struct, kw_only=True):
    key: str
    name: str
    builtin: bool
    permissions: list[str]


class AuditEventOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    created_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    ip: str
    user_agent: str
    request_id: str
    details: dict[str, object]


class AuditPage(msgspec.Struct):
    items: list[AuditEventOut]
    next_cursor: str | None


class SessionList(msgspec.Struct):
    items: list[SessionOut]


class GroupList(msgspec.Struct):
    items: list[GroupOut]


class RoleList(msgspec.Struct):
    items: list[RoleOut]


class RecoveryRegenerateIn(Input):
    code: Code


class ApiKeyIn(Input):
    name: Annotated[str, Meta(min_length=1, max_length=120)]
    scopes: Annotated[list[str], Meta(min_length=1, max_length=20)]
    # None: no expiry (keys should still be rotated; every use is audited)
    expires_in_days: Annotated[int, Meta(ge=1, le=730)] | None = 365


class ApiKeyOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_by: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    # Shown once: only its digest is stored.
    key: str
    api_key: ApiKeyOut


class SessionsRevokedOut(msgspec.Struct):
    revoked: int


class SsoLinkOut(msgspec.Struct, kw_only=True):
    idp: str
    linked_at: datetime
    last_login_at: datetime | None


class SignInOut(msgspec.Struct, kw_only=True):
    """How a person can sign in, as an admin sees it (never a secret)."""

    email: str | None
    username: str | None
    password: bool
    sso: list[SsoLinkOut]
    # An owner who may still use a password when the org requires single sign-on.
    sso_break_glass: bool
    mfa_enabled: bool
    mfa_enabled_at: datetime | None
    mfa_locked_until: datetime | None
    recovery_codes_left: int


class MfaEnrolmentOut(msgspec.Struct, kw_only=True):
    # Active people, and how many of them have (not) set up an authenticator app.
    active: int
    enrolled: int
    not_enrolled: int


class SessionLimitsOut(msgspec.Struct, kw_only=True):
    # The server's own lifetimes (STAFFROOM_*_TTL), which an org can only shorten.
    access_minutes: int
    idle_hours: int
    absolute_hours: int


class OrgSecurityOut(msgspec.Struct, kw_only=True):
    mfa: MfaEnrolmentOut
    server_sessions: SessionLimitsOut


class AuditBreakOut(msgspec.Struct, kw_only=True):
    chain_seq: int
    event_id: str
    # edited, missing (deleted), reordered (inserted), head_mismatch (cut off at the end)
    problem: Literal["edited", "missing", "reordered", "head_mismatch"]


class AuditVerificationOut(msgspec.Struct, kw_only=True):
    """The org's audit hash chain, checked now from its first kept event to its head."""

    verified: bool
    events: int
    checked_at: datetime
    # The first problems found (at most 20); none when verified.
    breaks: list[AuditBreakOut]
