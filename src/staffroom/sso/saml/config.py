"""Our service provider and one IdP as python3-saml needs them: its settings (strict,
signed assertions, no deprecated algorithms) and the request it sees, rebuilt from our
public URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from onelogin.saml2.constants import OneLogin_Saml2_Constants as C


@dataclass(frozen=True)
class SpConfig:
    """Our side, derived from the configured public base URL, never from the request."""

    base_url: str  # e.g. https://staffroom.example/sso/acme/saml
    cert_pem: str = ""
    key_pem: str = ""

    @property
    def entity_id(self) -> str:
        return f"{self.base_url}/metadata"

    @property
    def acs_url(self) -> str:
        return f"{self.base_url}/acs"

    @property
    def sls_url(self) -> str:
        return f"{self.base_url}/sls"


@dataclass(frozen=True)
class IdpConfig:
    """One IdP as python3-saml needs it."""

    entity_id: str
    sso_url: str
    slo_url: str
    certificates: tuple[str, ...]
    signs_messages: bool


def settings_for(sp: SpConfig, idp: IdpConfig) -> dict[str, Any]:
    """python3-saml settings: strict, signed assertions, no deprecated algorithms."""
    signed = bool(sp.key_pem and sp.cert_pem)
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": sp.entity_id,
            "assertionConsumerService": {"url": sp.acs_url, "binding": C.BINDING_HTTP_POST},
            "singleLogoutService": {"url": sp.sls_url, "binding": C.BINDING_HTTP_REDIRECT},
            "NameIDFormat": C.NAMEID_UNSPECIFIED,
            "x509cert": sp.cert_pem,
            "privateKey": sp.key_pem,
        },
        "idp": {
            "entityId": idp.entity_id,
            "singleSignOnService": {"url": idp.sso_url, "binding": C.BINDING_HTTP_REDIRECT},
            "singleLogoutService": {
                "url": idp.slo_url or idp.sso_url,
                "binding": C.BINDING_HTTP_REDIRECT,
            },
            "x509certMulti": {"signing": list(idp.certificates)},
        },
        "security": {
            "authnRequestsSigned": signed,
            "logoutRequestSigned": signed,
            "logoutResponseSigned": signed,
            "wantAssertionsSigned": True,
            "wantMessagesSigned": idp.signs_messages,
            "wantNameId": True,
            "wantAttributeStatement": False,
            "requestedAuthnContext": False,
            "rejectDeprecatedAlgorithm": True,
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
            "allowRepeatAttributeName": True,
        },
    }


def request_data(
    url: str, get: dict[str, str] | None = None, post: dict[str, str] | None = None
) -> dict[str, Any]:
    """The request as python3-saml sees it, rebuilt from our public URL (never the Host)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return {
        "https": "on" if parts.scheme == "https" else "off",
        # A non-default port belongs in http_host (python3-saml deprecates server_port).
        "http_host": f"{host}:{parts.port}" if parts.port else host,
        "script_name": parts.path,
        "get_data": get or {},
        "post_data": post or {},
    }
