"""OpenID Connect IdPs of an org: their admin settings, and the protocol core's view of them.

An OIDC IdP is a row of the same table as a SAML one (`kind = "oidc"`), so JIT, group
rules, the IdP-MFA policy, enforcement and the doctor treat both alike. Its client secret
is sealed with the data key (the IdP's id as associated data: a sealed secret copied to
another row does not open) and never returned, only whether it is set.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any

from staffroom.accounts.service import email_domains
from staffroom.core.crypto import DecryptionFailed
from staffroom.core.errors import Invalid
from staffroom.core.runtime import Runtime
from staffroom.sso.oidc import config
from staffroom.sso.oidc.config import DEFAULT_SCOPES, OidcIdp
from staffroom.sso.oidc.discovery import Providers
from staffroom.sso.oidc.errors import Rejected

# The SAML-only columns an OIDC IdP leaves empty, and the OIDC-only ones of a SAML IdP.
SAML_ONLY = frozenset(
    {"entity_id", "sso_url", "slo_url", "certificates", "signs_messages", "idp_initiated"}
)
OIDC_ONLY = frozenset(
    {"issuer", "client_id", "client_secret", "scopes", "hosted_domain", "tenant_id"}
)
OIDC_PRESETS = frozenset(config.PRESETS)
# The OIDC columns of a new row, before the admin's values.
NEW: dict[str, Any] = {
    "issuer": "",
    "client_id": "",
    "client_secret": "",
    "scopes": list(DEFAULT_SCOPES),
    "preset": "generic",
    "hosted_domain": "",
    "tenant_id": "",
}
# The core's refusal of a configuration, as the admin API's problem codes.
_CODES = {"hosted_domain": "hosted_domain_required", "tenant": "invalid_tenant"}


class OidcProviders(Providers):
    """This app's discovery and key-set caches (a part of the runtime)."""


def providers(rt: Runtime) -> Providers:
    """The app's cached IdP documents; private addresses only where settings allow them."""
    found = rt.part(OidcProviders)
    found.allow_private = rt.settings.sso_metadata_allow_private
    return found


def _aad(idp_id: uuid.UUID) -> bytes:
    return f"oidc-client-secret\x00{idp_id}".encode()


def seal_secret(rt: Runtime, idp_id: uuid.UUID, secret: str) -> str:
    """The client secret as stored."""
    return rt.keys.encrypt(secret.encode(), aad=_aad(idp_id)) if secret else ""


def open_secret(rt: Runtime, row: dict[str, Any]) -> str:
    """The client secret for one call to the IdP ('' when unset or unreadable)."""
    if not row["client_secret"]:
        return ""
    try:
        return rt.keys.decrypt(row["client_secret"], aad=_aad(row["id"])).decode()
    except DecryptionFailed:
        return ""


def oidc_config(rt: Runtime, org_slug: str, row: dict[str, Any]) -> OidcIdp:
    """An IdP row as the protocol core needs it, with our callback for the org."""
    return OidcIdp(
        org_id=row["org"],
        idp_id=row["id"],
        issuer=row["issuer"],
        client_id=row["client_id"],
        client_secret=open_secret(rt, row),
        redirect_uri=config.redirect_uri(rt.settings.public_url, org_slug),
        scopes=tuple(row["scopes"] or DEFAULT_SCOPES),
        preset=row["preset"],
        hosted_domain=row["hosted_domain"],
        tenant_id=row["tenant_id"],
    )


_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,100}")  # RFC 6749's scope-token


def _normalised(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for name in ("issuer", "client_id", "hosted_domain", "tenant_id"):
        if name in out:
            out[name] = out[name].strip()
    if "hosted_domain" in out:
        out["hosted_domain"] = out["hosted_domain"].lower().rstrip(".")
    if "scopes" in out:
        # Order kept, duplicates dropped; openid is required (checked below).
        out["scopes"] = list(dict.fromkeys(s.strip() for s in out["scopes"] if s.strip()))
    return out


async def validated(
    rt: Runtime, org_id: uuid.UUID, org_slug: str, row: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """Check the OIDC fields being set against the IdP as it would then be (a 422 for
    anything the sign-in could not validate strictly); the secret comes back sealed."""
    unknown = SAML_ONLY & set(values)
    if unknown:
        raise Invalid("not_for_oidc", f"An OpenID Connect IdP has no {', '.join(sorted(unknown))}.")
    out = _normalised(values)
    if any(not _SCOPE.fullmatch(scope) for scope in out.get("scopes", [])):
        raise Invalid("invalid_scope", "A scope is one word of printable ASCII (RFC 6749 3.3).")
    if "preset" in out and out["preset"] not in OIDC_PRESETS:
        raise Invalid("invalid_preset", f"{out['preset']!r} is not an OpenID Connect preset.")
    merged = {**row, **out}
    secret = out["client_secret"] if "client_secret" in out else open_secret(rt, row)
    if not secret:
        raise Invalid("client_secret_required", "Give the client secret the IdP issued.")
    try:
        config.check(replace(oidc_config(rt, org_slug, merged), client_secret=secret))
    except Rejected as rejected:
        raise Invalid(
            _CODES.get(rejected.reason, "invalid_oidc_settings"), rejected.detail
        ) from None
    if merged["preset"] == "google" and ("hosted_domain" in out or "preset" in out):
        await _check_hosted_domain(org_id, merged["hosted_domain"])
    if "client_secret" in out:
        out["client_secret"] = seal_secret(rt, row["id"], secret)
    return out


async def _check_hosted_domain(org_id: uuid.UUID, domain: str) -> None:
    """Google Workspace: the `hd` every token must carry is one of the org's verified
    domains, so the IdP cannot let in the accounts of another company's Workspace."""
    if await email_domains.binding_for(org_id, f"postmaster@{domain}") is None:
        raise Invalid(
            "hosted_domain_not_verified",
            f"{domain} is not a verified domain of this organisation: verify it first.",
        )
