"""Verified ID token claims as the assertion the SAML side hands to provisioning.

`OidcAssertion` has every field of `saml.Assertion` (name_id, session_index, attributes,
assertion_id, not_on_or_after, authn_contexts) with the same meaning, so the login
pipeline (identity by (org, IdP, name_id), `provisioning.map_attributes`/`apply_rules`/
`jit_user`/`sync`, the IdP-MFA policy, the doctor) takes either. Beside them, the facts
only OIDC has, which the caller must respect: `email_verified` and `groups_complete`.

An email the IdP does not vouch for (`email_verified` not true) is left out of the
attributes, so nothing downstream can provision or link by it even if it forgets to
ask; `require_verified_email` names the reason (`email_unverified`) for the doctor.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from staffroom.sso.oidc.config import OidcIdp
from staffroom.sso.oidc.errors import Rejected

# Field -> claim names, first present wins; the same fields as sso/presets.py FIELDS.
# `email` is the `email` claim only: it is the one `email_verified` speaks for
# (preferred_username, upn and the like are names the user or a tenant can choose).
CLAIMS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "email": ("email",),
        "given_name": ("given_name",),
        "surname": ("family_name",),
        "display_name": ("name",),
        "groups": ("groups",),
        "employee_id": ("employee_id", "employeeid", "employeeNumber"),
    }
)
# authn_contexts entries meaning the IdP did multi-factor authentication: amr values
# (RFC 8176, as "amr:<value>") and acr values of the common IdPs.
MFA_CONTEXTS = frozenset(
    {
        "amr:mfa",
        "https://refeds.org/profile/mfa",
        "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
        "urn:okta:loa:2fa:any",
        "phr",  # OpenID EAP ACR values: phishing-resistant
        "phrh",  # … and hardware-protected
    }
)
# Protocol claims: about the token, not the person; kept out of the attributes.
_PROTOCOL = frozenset(
    {
        "iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash",
        "auth_time", "jti", "sid", "acr", "amr", "email_verified", "_claim_names",
        "_claim_sources",
    }
)  # fmt: skip
MAX_VALUES = 200
MAX_VALUE_LENGTH = 1000


@dataclass
class OidcAssertion:
    """What a valid ID token says about the user, in `saml.Assertion`'s shape."""

    name_id: str  # sub: with (org, IdP) the identity's key, never the email
    session_index: str  # sid, for the IdP's logout
    attributes: dict[str, list[str]]
    assertion_id: str  # jti, else the token's digest: the replay cache's key
    not_on_or_after: datetime | None  # exp
    authn_contexts: list[str]
    issuer: str = ""
    email_verified: bool = False
    # False when the IdP left groups out (Entra ID past 200: `_claim_names`): group rules
    # cannot be applied to what is not there, so the caller must refuse if it has rules.
    groups_complete: bool = True
    # The email the IdP did not vouch for, for the doctor only (not in attributes).
    unverified_email: str = ""
    claims: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def idp_mfa(self) -> bool:
        """Whether the IdP says it did multi-factor authentication (amr / acr)."""
        return any(c in MFA_CONTEXTS for c in self.authn_contexts)

    def require_verified_email(self) -> str:
        """The email to provision or link by; refused unless the IdP vouches for it."""
        email = self.attributes.get("email", [""])[0]
        if not self.email_verified or not email:
            raise Rejected(
                "email_unverified",
                f"The IdP does not vouch for {self.unverified_email or 'the email'!r:.200}"
                " (email_verified is not true): no account is made or linked by it.",
                from_idp=True,
            )
        return email

    def require_groups(self) -> None:
        """Refuse when group rules would be applied to a token without its groups."""
        if not self.groups_complete:
            raise Rejected(
                "groups_overage",
                "The IdP sent too many groups to list them in the token; assign only the "
                "groups that matter to the application at the IdP.",
                from_idp=True,
            )


def mapping(overrides: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Claim names per field: the IdP's own first, then the standard ones; never for email."""
    extra = overrides or {}
    return {f: [*(extra.get(f, []) if f != "email" else []), *names] for f, names in CLAIMS.items()}


def _email_verified(claims: dict[str, Any], idp: OidcIdp) -> bool:
    # Google sent "true" as a string in older tokens; anything else is not a yes.
    said = claims.get("email_verified")
    if said is None and idp.preset == "entra":
        # Entra ID sends no email_verified; its optional claim xms_edov says whether the
        # email's domain is verified by the tenant. Without it the email is not vouched for.
        said = claims.get("xms_edov")
    return said is True or said == "true"


def _values(value: Any) -> list[str] | None:
    """A claim as attribute values: strings, numbers and booleans, or a list of them."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items[:MAX_VALUES]:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item)[:MAX_VALUE_LENGTH])
        else:
            return None  # objects (address, …) are not attributes
    return out


def to_assertion(claims: dict[str, Any], idp: OidcIdp, token: str) -> OidcAssertion:
    """The assertion of verified claims."""
    attributes: dict[str, list[str]] = {}
    for name, value in list(claims.items())[:MAX_VALUES]:
        if name in _PROTOCOL:
            continue
        values = _values(value)
        if values is not None:
            attributes[name[:300]] = values
    verified = _email_verified(claims, idp)
    unverified = ""
    if not verified and "email" in attributes:
        unverified = attributes.pop("email")[0]
    amr = _values(claims.get("amr")) or []
    acr = claims.get("acr")
    contexts = ([acr] if isinstance(acr, str) else []) + [f"amr:{v}" for v in amr]
    jti, sid = claims.get("jti"), claims.get("sid")
    names = claims.get("_claim_names")
    return OidcAssertion(
        name_id=str(claims["sub"]),
        session_index=sid[:200] if isinstance(sid, str) else "",
        attributes=attributes,
        assertion_id=jti[:200] if isinstance(jti, str) and jti else _digest(token),
        not_on_or_after=datetime.fromtimestamp(float(claims["exp"]), tz=UTC),
        authn_contexts=contexts,
        issuer=str(claims["iss"]),
        email_verified=verified,
        groups_complete=not (isinstance(names, dict) and "groups" in names),
        unverified_email=unverified,
        claims=claims,
    )


def _digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()
