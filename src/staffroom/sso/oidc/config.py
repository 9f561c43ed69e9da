"""One OIDC identity provider as the protocol core needs it, and what each preset demands.

The login pipeline builds an `OidcIdp` from the org's IdP row (the client secret unsealed
for the call only), as `idps.idp_config` does for SAML. `check` refuses a configuration
that could not be validated strictly, before any browser is sent anywhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlsplit

from staffroom.sso.oidc.errors import Rejected

# Hosts an http:// issuer may have: a local IdP (development, tests). Anything else is https.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Entra ID issuers that name no tenant: tokens of any tenant would carry them.
ENTRA_SHARED_TENANTS = frozenset({"common", "organizations", "consumers"})
DEFAULT_SCOPES = ("openid", "email", "profile")

PRESETS = ("generic", "google", "entra", "okta", "keycloak")


@dataclass(frozen=True)
class PresetInfo:
    """What the admin console's wizard asks for and suggests, per preset."""

    issuer_hint: str
    scopes: tuple[str, ...]
    needs_hosted_domain: bool = False
    needs_tenant: bool = False


PRESET_INFO: MappingProxyType[str, PresetInfo] = MappingProxyType(
    {
        "generic": PresetInfo("https://idp.example.com", DEFAULT_SCOPES),
        "google": PresetInfo(
            "https://accounts.google.com", DEFAULT_SCOPES, needs_hosted_domain=True
        ),
        # The tenant-specific v2.0 issuer; "common"/"organizations" are refused.
        "entra": PresetInfo(
            "https://login.microsoftonline.com/{tenant_id}/v2.0", DEFAULT_SCOPES, needs_tenant=True
        ),
        # Okta's org authorization server, or a custom one (…/oauth2/default).
        "okta": PresetInfo("https://{your-org}.okta.com", (*DEFAULT_SCOPES, "groups")),
        "keycloak": PresetInfo("https://{host}/realms/{realm}", DEFAULT_SCOPES),
    }
)


@dataclass(frozen=True)
class OidcIdp:
    """An org's OpenID provider: where it is, who we are to it, and the preset's pins."""

    org_id: uuid.UUID
    idp_id: uuid.UUID
    issuer: str
    client_id: str
    client_secret: str
    # Our callback, from the configured public base URL (never the Host header).
    redirect_uri: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    preset: str = "generic"
    # Google Workspace: the `hd` every token must carry.
    hosted_domain: str = ""
    # Entra ID: the directory (tenant) id every token's `tid` must be.
    tenant_id: str = ""

    def __repr__(self) -> str:
        # The client secret never reaches a log line or a traceback.
        return f"OidcIdp(idp_id={self.idp_id}, issuer={self.issuer!r}, preset={self.preset!r})"


def redirect_uri(public_base_url: str, org_slug: str) -> str:
    """Our callback for an org: what is registered at the IdP and sent in every request."""
    return f"{public_base_url.rstrip('/')}/sso/{org_slug}/oidc/callback"


def secure_url(url: str) -> bool:
    """https, or http on a loopback host only; no credentials, no fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.username or parts.password or parts.fragment or not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK)


def check(idp: OidcIdp) -> None:
    """Refuse a configuration the core cannot validate strictly (raises Rejected)."""
    if idp.preset not in PRESETS:
        raise Rejected("idp_not_ready", f"Unknown preset {idp.preset!r}.")
    if not secure_url(idp.issuer) or urlsplit(idp.issuer).query:
        raise Rejected("idp_not_ready", "The issuer must be an https URL without a query.")
    if not idp.client_id or not idp.client_secret:
        raise Rejected("idp_not_ready", "The client id and secret are required.")
    if "openid" not in idp.scopes:
        raise Rejected("idp_not_ready", "The scopes must include openid.")
    if idp.preset == "google" and not idp.hosted_domain:
        # Without it any Google account, a private gmail.com one too, could sign in.
        raise Rejected("hosted_domain", "The Google Workspace domain (hd) is required.")
    if idp.preset == "entra":
        _check_entra(idp)


def _check_entra(idp: OidcIdp) -> None:
    """A tenant-specific issuer naming the configured tenant: tokens of other tenants
    carry other issuers and fail the exact issuer match."""
    if not idp.tenant_id:
        raise Rejected("tenant", "The Entra ID tenant (directory) id is required.")
    segments = [s.lower() for s in urlsplit(idp.issuer).path.split("/") if s]
    if ENTRA_SHARED_TENANTS & set(segments):
        raise Rejected(
            "tenant",
            "The issuer names no tenant (common/organizations/consumers): use the "
            "tenant-specific one, https://login.microsoftonline.com/<tenant id>/v2.0.",
        )
    if idp.tenant_id.lower() not in segments:
        raise Rejected("tenant", f"The issuer is not that of tenant {idp.tenant_id}.")
