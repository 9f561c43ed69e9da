"""Attribute names the common IdPs send, so IT admins need not type claim URIs.

Each field lists the names to look for, first found wins; an IdP's own mapping adds to
(and comes before) its preset.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from staffroom.sso.oidc import claims

FIELDS = ("email", "given_name", "surname", "display_name", "groups", "employee_id")

_MS = "http://schemas.microsoft.com"
_XS = "http://schemas.xmlsoap.org"

PRESETS: MappingProxyType[str, dict[str, list[str]]] = MappingProxyType(
    {
        "generic": {
            "email": ["email", "mail", "urn:oid:0.9.2342.19200300.100.1.3"],
            "given_name": ["given_name", "givenName", "firstName", "urn:oid:2.5.4.42"],
            "surname": ["surname", "sn", "lastName", "urn:oid:2.5.4.4"],
            "display_name": ["display_name", "displayName", "urn:oid:2.16.840.1.113730.3.1.241"],
            "groups": ["groups", "memberOf", "Role"],
            "employee_id": ["employee_id", "employeeNumber", "urn:oid:2.16.840.1.113730.3.1.3"],
        },
        "entra": {
            "email": [f"{_XS}/ws/2005/05/identity/claims/emailaddress"],
            "given_name": [f"{_XS}/ws/2005/05/identity/claims/givenname"],
            "surname": [f"{_XS}/ws/2005/05/identity/claims/surname"],
            "display_name": [f"{_MS}/identity/claims/displayname"],
            "groups": [f"{_MS}/ws/2008/06/identity/claims/groups"],
            "employee_id": ["employeeid", f"{_MS}/identity/claims/employeeid"],
        },
        "okta": {
            "email": ["email"],
            "given_name": ["firstName"],
            "surname": ["lastName"],
            "display_name": ["displayName"],
            "groups": ["groups"],
            "employee_id": ["employeeNumber"],
        },
        "google": {
            "email": ["email"],
            "given_name": ["first_name", "firstName"],
            "surname": ["last_name", "lastName"],
            "display_name": ["display_name"],
            "groups": ["groups"],
            "employee_id": ["employee_id", "employeeId"],
        },
        "keycloak": {
            "email": ["email", "urn:oid:1.2.840.113549.1.9.1"],
            "given_name": ["firstName", "urn:oid:2.5.4.42"],
            "surname": ["lastName", "urn:oid:2.5.4.4"],
            "display_name": ["displayName"],
            "groups": ["groups", "Role"],
            "employee_id": ["employeeId", "employeeNumber"],
        },
        "adfs": {
            "email": [f"{_XS}/ws/2005/05/identity/claims/emailaddress"],
            "given_name": [f"{_XS}/ws/2005/05/identity/claims/givenname"],
            "surname": [f"{_XS}/ws/2005/05/identity/claims/surname"],
            "display_name": [f"{_XS}/ws/2005/05/identity/claims/name"],
            "groups": [f"{_XS}/claims/Group", f"{_MS}/ws/2008/06/identity/claims/role"],
            "employee_id": [f"{_MS}/ws/2008/06/identity/claims/employeeid"],
        },
    }
)

# AuthnContextClassRefs that mean the IdP itself did multi-factor authentication.
MFA_CONTEXTS = frozenset(
    {
        "http://schemas.microsoft.com/claims/multipleauthn",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:MultiFactor",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
        "https://refeds.org/profile/mfa",
        "http://id.elegnamnden.se/loa/1.0/loa3",
    }
)


def mapping_for(preset: str, overrides: dict[str, list[str]]) -> dict[str, list[str]]:
    """The attribute names to look for, per field: the IdP's own first, then the preset's."""
    base = PRESETS.get(preset, PRESETS["generic"])
    return {f: [*overrides.get(f, []), *base.get(f, [])] for f in FIELDS}


def field_names(idp: dict[str, Any]) -> dict[str, list[str]]:
    """What an IdP's sign-ins are read by: SAML attribute names, or OIDC claim names (the
    standard claims, after the IdP's own; never another claim for the email)."""
    if idp["kind"] == "oidc":
        return claims.mapping(idp["attribute_map"])
    return mapping_for(idp["preset"], idp["attribute_map"])
