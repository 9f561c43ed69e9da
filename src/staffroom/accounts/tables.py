"""Accounts tables. Every row holding org data carries `org`.

Composite unique keys are created by a raw-SQL migration: SQLite cannot add
constraints to an existing table, which is how Piccolo emits them.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Org(Table, tablename="org"):
    """A customer organisation (tenant)."""

    id = UUID(primary_key=True)
    slug = Varchar(length=63, unique=True)
    name = Varchar(length=200)
    require_mfa = Boolean(default=False)
    password_login = Boolean(default=True)
    default_locale = Varchar(length=8, default="en")
    invite_ttl_days = Integer(default=7)
    invite_daily_cap = Integer(default=1000)
    # Only addresses in the org's verified domains may join or be set (signup always is).
    restrict_email_domains = Boolean(default=False)
    # Password login only for owners marked break-glass; everyone else signs in with SSO.
    sso_required = Boolean(default=False)
    # Chat messages older than this many days are deleted (None: kept).
    chat_retention_days = Integer(null=True, default=None)
    # News posts (with their comments, reactions and reads) and audit events: the same.
    post_retention_days = Integer(null=True, default=None)
    audit_retention_days = Integer(null=True, default=None)
    # Shorter session lifetimes than the server's, chosen in the security settings (None:
    # the server's): hours without activity, and hours since sign-in, after which it ends.
    session_idle_hours = Integer(null=True, default=None)
    session_absolute_hours = Integer(null=True, default=None)
    created_at = Timestamptz()


class User(Table, tablename="app_user"):
    """A person in one org: by email, or by username for staff without email."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    email = Varchar(length=320, null=True, default=None)
    email_verified_at = Timestamptz(null=True, default=None)
    username = Varchar(length=64, null=True, default=None)
    display_name = Varchar(length=200)
    employee_id = Varchar(length=64, null=True, default=None)
    role = Varchar(length=64, default="member")
    # active | deactivated | pending (pre-provisioned for an access code, never signed in)
    # | erased (GDPR: personal data gone, the row stays so history shows a deleted user)
    status = Varchar(length=20, default="active")
    password_hash = Varchar(length=100, null=True, default=None)
    locale = Varchar(length=8, default="en")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    deactivated_at = Timestamptz(null=True, default=None)
    last_login_at = Timestamptz(null=True, default=None)
    # An owner who may still sign in with a password when the org requires SSO.
    sso_break_glass = Boolean(default=False)


class Role(Table, tablename="custom_role"):
    """A custom role of one org: a named set of permissions."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    key = Varchar(length=64)
    name = Varchar(length=100)
    permissions = JSON(default="[]")
    created_at = Timestamptz()


class Group(Table, tablename="user_group"):
    """A department, location or team."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=120)
    kind = Varchar(length=20, default="team")
    description = Varchar(length=500, default="")
    created_at = Timestamptz()


class GroupMember(Table, tablename="group_member"):
    """Membership of a user in a group."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    group = ForeignKey(Group, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    created_at = Timestamptz()


class AuthSession(Table, tablename="auth_session"):
    """One login on one device: the family of its rotating refresh tokens."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    scope = Varchar(length=10, default="full")
    mfa = Boolean(default=False)
    access_hash = Varchar(length=64, unique=True)
    access_expires_at = Timestamptz()
    created_at = Timestamptz()
    last_used_at = Timestamptz()
    idle_expires_at = Timestamptz()
    absolute_expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoke_reason = Varchar(length=40, default="")
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")


class RefreshToken(Table, tablename="refresh_token"):
    """Every refresh token ever issued, so a reused one is recognised."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    session = ForeignKey(AuthSession, on_delete=OnDelete.cascade, null=False, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class OneTimeToken(Table, tablename="one_time_token"):
    """Single-use secrets for one user: password reset, account setup, MFA challenge."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    purpose = Varchar(length=20)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class TotpFactor(Table, tablename="totp_factor"):
    """A user's TOTP secret (AES-GCM sealed), replay and lockout state."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, unique=True)
    secret_sealed = Text()
    confirmed_at = Timestamptz(null=True, default=None)
    last_step = Integer(null=True, default=None)
    failed_count = Integer(default=0)
    failed_window_start = Timestamptz(null=True, default=None)
    locked_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class RecoveryCode(Table, tablename="recovery_code"):
    """Single-use MFA recovery codes, stored as HMAC digests."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    code_hash = Varchar(length=64, unique=True)
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class OrgDomain(Table, tablename="org_domain"):
    """An email domain bound to an org; only a verified binding counts."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    domain = Varchar(length=253, unique=True)
    allow_subdomains = Boolean(default=False)
    verified_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class EmailChange(Table, tablename="email_change"):
    """A requested change of a user's address; it applies when the new mailbox confirms it."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    new_email = Varchar(length=320)
    token_hash = Varchar(length=64, unique=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class ApiKey(Table, tablename="api_key"):
    """An integration's key: scoped, shown once, stored as an HMAC digest."""

    id = UUID(primary_key=True)
    org = ForeignKey(Org, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=120)
    # The visible part ("sr_" + 10 characters): finds the key and tells keys apart in lists.
    prefix = Varchar(length=20, unique=True)
    secret_hash = Varchar(length=64)
    scopes = JSON(default="[]")
    # The key acts with at most its creator's rights (and stops with their account).
    created_by = ForeignKey(User, on_delete=OnDelete.cascade, null=False)
    created_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
