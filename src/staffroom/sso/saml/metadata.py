"""Metadata: ours (SP metadata XML) and an IdP's (entity id, URLs, signing certificates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from staffroom.sso.saml.config import IdpConfig, SpConfig, settings_for
from staffroom.sso.saml.envelope import parse_without_dtd
from staffroom.sso.saml.errors import Rejected


def sp_metadata(sp: SpConfig) -> str:
    """Our SP metadata XML (entity id, ACS, SLS, and the signing cert when there is one)."""
    # The IdP part of the settings is not read for SP metadata.
    placeholder = IdpConfig("", "", "", (), signs_messages=True)
    settings = OneLogin_Saml2_Settings(settings_for(sp, placeholder), sp_validation_only=True)
    metadata = settings.get_sp_metadata()
    return metadata.decode() if isinstance(metadata, bytes) else str(metadata)


def parse_idp_metadata(xml: str) -> dict[str, Any]:
    """Entity id, SSO/SLO URLs (Redirect binding) and signing certs from IdP metadata."""
    parse_without_dtd(xml.encode(), "malformed", "The metadata is not XML.")
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    except Exception as exc:  # the parser raises whatever lxml raises for bad XML
        raise Rejected("malformed", f"The metadata cannot be read: {str(exc)[:200]}") from exc
    idp = parsed.get("idp") or {}
    certs = list(idp.get("x509certMulti", {}).get("signing", []))
    if not certs and idp.get("x509cert"):
        certs = [idp["x509cert"]]
    return {
        "entity_id": idp.get("entityId", ""),
        "sso_url": idp.get("singleSignOnService", {}).get("url", ""),
        "slo_url": idp.get("singleLogoutService", {}).get("url", ""),
        "certificates": certs,
    }


def normalize_certificate(text: str) -> tuple[str, datetime]:
    """A PEM certificate (from PEM or bare base64) and its expiry; garbage is Rejected."""
    body = "".join(line.strip() for line in text.strip().splitlines() if "-----" not in line)
    pem = "-----BEGIN CERTIFICATE-----\n"
    pem += "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    pem += "\n-----END CERTIFICATE-----\n"
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise Rejected("bad_certificate", "This is not an X.509 certificate.") from exc
    return pem, cert.not_valid_after_utc
