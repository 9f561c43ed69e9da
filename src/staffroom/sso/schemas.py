"""Request and response bodies of single sign-on (msgspec Structs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from staffroom.accounts.schemas import Input

Preset = Literal["generic", "entra", "okta", "google", "keycloak", "adfs"]
Url = Annotated[str, Meta(min_length=1, max_length=1000)]
Names = Annotated[list[Annotated[str, Meta(max_length=300)]], Meta(max_length=10)]


class AttributeMap(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """SAML attribute names per profile field, where they differ from the preset's.

    A struct rather than a dict keyed by field name: the OpenAPI document then names the
    fields (Litestar does not carry a dict's key enum into the schema)."""

    email: Names | None = None
    given_name: Names | None = None
    surname: Names | None = None
    display_name: Names | None = None
    groups: Names | None = None
    employee_id: Names | None = None


Certificates = Annotated[list[Annotated[str, Meta(max_length=20_000)]], Meta(max_length=5)]
Domains = Annotated[list[Annotated[str, Meta(max_length=253)]], Meta(max_length=50)]


class GroupRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What an IdP group value means: keep people out, let them in, or map them."""

    value: Annotated[str, Meta(min_length=1, max_length=300)]
    # deny: refuse login; allow: only people matching an allow rule may log in;
    # map: add to group_id and/or give role
    effect: Literal["allow", "deny", "map"] = "map"
    group_id: uuid.UUID | None = None
    role: Annotated[str, Meta(min_length=1, max_length=64)] | None = None


Rules = Annotated[list[GroupRule], Meta(max_length=200)]


class IdpIn(Input):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    entity_id: Url
    sso_url: Url
    certificates: Certificates
    slo_url: Annotated[str, Meta(max_length=1000)] = ""
    signs_messages: bool = True
    idp_initiated: bool = False
    jit: bool = False
    default_role: Annotated[str, Meta(min_length=1, max_length=64)] = "member"
    preset: Preset = "generic"
    attribute_map: AttributeMap = msgspec.field(default_factory=AttributeMap)
    group_rules: Rules = []
    enforces_mfa: bool = False
    email_domains: Domains = []
    enabled: bool = True


# Only the list's bounds: Litestar's OpenAPI document does not carry an item's own
# constraints, so a blank, long or non-ASCII scope is the service's 422, not an undocumented 400.
Scopes = Annotated[list[str], Meta(min_length=1, max_length=20)]
Secret = Annotated[str, Meta(min_length=1, max_length=2000)]
HostedDomain = Annotated[str, Meta(max_length=253)]
TenantId = Annotated[str, Meta(max_length=64)]


class OidcIdpIn(Input):
    """An OpenID Connect IdP: its issuer (discovery), our client at it, and the rest as SAML."""

    name: Annotated[str, Meta(min_length=1, max_length=100)]
    issuer: Url
    client_id: Annotated[str, Meta(min_length=1, max_length=300)]
    client_secret: Secret
    scopes: Scopes = msgspec.field(default_factory=lambda: ["openid", "email", "profile"])
    preset: Preset = "generic"
    # Google Workspace: the org's domain every token's `hd` must be.
    hosted_domain: HostedDomain = ""
    # Entra ID: the directory (tenant) id every token's `tid` must be.
    tenant_id: TenantId = ""
    jit: bool = False
    default_role: Annotated[str, Meta(min_length=1, max_length=64)] = "member"
    # Claim names per field, where they differ from the standard claims.
    attribute_map: AttributeMap = msgspec.field(default_factory=AttributeMap)
    group_rules: Rules = []
    enforces_mfa: bool = False
    email_domains: Domains = []
    enabled: bool = True


class IdpPatch(Input):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | UnsetType = UNSET
    entity_id: Url | UnsetType = UNSET
    sso_url: Url | UnsetType = UNSET
    slo_url: Annotated[str, Meta(max_length=1000)] | UnsetType = UNSET
    certificates: Certificates | UnsetType = UNSET
    signs_messages: bool | UnsetType = UNSET
    idp_initiated: bool | UnsetType = UNSET
    jit: bool | UnsetType = UNSET
    default_role: Annotated[str, Meta(min_length=1, max_length=64)] | UnsetType = UNSET
    preset: Preset | UnsetType = UNSET
    attribute_map: AttributeMap | UnsetType = UNSET
    group_rules: Rules | UnsetType = UNSET
    enforces_mfa: bool | UnsetType = UNSET
    email_domains: Domains | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    # OpenID Connect IdPs only (a SAML IdP refuses them, and an OIDC one the SAML fields).
    issuer: Url | UnsetType = UNSET
    client_id: Annotated[str, Meta(min_length=1, max_length=300)] | UnsetType = UNSET
    client_secret: Secret | UnsetType = UNSET
    scopes: Scopes | UnsetType = UNSET
    hosted_domain: HostedDomain | UnsetType = UNSET
    tenant_id: TenantId | UnsetType = UNSET


class MetadataUrlIn(Input):
    url: Url
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    preset: Preset = "generic"
    # False: set up and test it before anyone sees it at sign-in.
    enabled: bool = True


class CertificateOut(msgspec.Struct, kw_only=True):
    # The certificate itself (public): a rollover sends the ones to keep back with the new.
    pem: str
    subject: str
    not_after: datetime
    days_left: int
    warning: str | None


class IdpOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    kind: Literal["saml", "oidc"]
    entity_id: str
    sso_url: str
    slo_url: str
    certificates: list[CertificateOut]
    signs_messages: bool
    idp_initiated: bool
    jit: bool
    default_role: str
    preset: str
    attribute_map: dict[str, list[str]]
    effective_attribute_map: dict[str, list[str]]
    group_rules: list[GroupRule]
    enforces_mfa: bool
    email_domains: list[str]
    enabled: bool
    sp_entity_id: str
    sp_acs_url: str
    sp_slo_url: str
    sp_metadata_url: str
    created_at: datetime
    updated_at: datetime
    # OpenID Connect IdPs (empty for SAML ones): the secret itself is never returned.
    issuer: str
    client_id: str
    client_secret_set: bool
    scopes: list[str]
    hosted_domain: str
    tenant_id: str
    # Our callback, to register at the IdP as the redirect URI ('' for SAML).
    redirect_uri: str


class IdpList(msgspec.Struct):
    items: list[IdpOut]


class SsoSettingsOut(msgspec.Struct, kw_only=True):
    sso_required: bool
    break_glass_user_ids: list[uuid.UUID]
    sp_entity_id: str
    sp_acs_url: str
    sp_slo_url: str
    sp_metadata_url: str
    idps: list[IdpOut]
    # The redirect URI to register at an OpenID Connect IdP.
    oidc_redirect_uri: str


class SsoSettingsIn(Input):
    sso_required: bool
    # Owners who may still sign in with a password while SSO is required.
    break_glass_user_ids: Annotated[list[uuid.UUID], Meta(max_length=10)] = []


class AttemptOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    created_at: datetime
    outcome: str
    reason: str
    detail: str
    skew_seconds: int | None
    name_id: str
    user_id: uuid.UUID | None
    attributes: dict[str, list[str]]
    expected: dict[str, list[str]]
    # Whether the IdP's signature was on the response (False: anyone could have sent it).
    signed: bool = True
    # The admin's test sign-in this attempt answered (nobody was signed in by it).
    test_id: uuid.UUID | None = None


class AttemptList(msgspec.Struct, kw_only=True):
    items: list[AttemptOut]
    # Beside an IdP's signed attempts: how many unsigned ones naming it are kept
    # (`?unsigned=true` lists them).
    unsigned_count: int = 0


class SsoTestStartOut(msgspec.Struct, kw_only=True):
    """A test sign-in: open `redirect_url` in a new window, then poll the test's result."""

    test_id: uuid.UUID
    redirect_url: str
    expires_at: datetime


class SsoTestResultOut(msgspec.Struct, kw_only=True):
    # waiting: no answer from the IdP yet; done: `attempt` says how it went; expired:
    # the test was not finished within its sign-in's lifetime (SAML 15 minutes, OIDC 10).
    status: Literal["waiting", "done", "expired"]
    idp_id: uuid.UUID
    attempt: AttemptOut | None = None


class PreviewIn(Input):
    """A mapping and rules being edited, to try on an attempt's attributes before saving."""

    preset: Preset | UnsetType = UNSET
    attribute_map: AttributeMap | UnsetType = UNSET
    group_rules: Rules | UnsetType = UNSET
    # The attempt whose attributes to use; by default the IdP's latest one that has any.
    attempt_id: uuid.UUID | None = None


class FieldPreview(msgspec.Struct, kw_only=True):
    field: str
    # The attribute the value came from (None: none of the names looked for was sent).
    attribute: str | None
    values: list[str]
    looked_for: list[str]


class PreviewOut(msgspec.Struct, kw_only=True):
    attempt: AttemptOut | None
    fields: list[FieldPreview]
    # allowed, or denied with the reason (denied_by_rule, not_allowed_by_rule)
    outcome: Literal["allowed", "denied", "no_attempt"]
    reason: str = ""
    group_ids: list[uuid.UUID] = []
    role: str | None = None


class ExchangeIn(Input):
    code: Annotated[str, Meta(min_length=1, max_length=256)]


class RedirectOut(msgspec.Struct):
    redirect_url: str
