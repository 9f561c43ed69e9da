"""Single Logout: our LogoutRequest, and the IdP's LogoutRequest or LogoutResponse."""

from __future__ import annotations

import binascii
import zlib
from dataclasses import dataclass, field

from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.errors import OneLogin_Saml2_Error
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from staffroom.sso.saml.config import IdpConfig, SpConfig, request_data, settings_for
from staffroom.sso.saml.envelope import NS, parse_without_dtd
from staffroom.sso.saml.errors import Rejected


def logout_url(
    sp: SpConfig, idp: IdpConfig, name_id: str, session_index: str, relay_state: str
) -> tuple[str, str]:
    """SP-initiated Single Logout: the IdP URL with our LogoutRequest, and its ID."""
    auth = OneLogin_Saml2_Auth(request_data(sp.sls_url), settings_for(sp, idp))
    url = auth.logout(return_to=relay_state, name_id=name_id, session_index=session_index or None)
    return str(url), str(auth.get_last_request_id())


@dataclass
class LogoutResult:
    """A validated logout message from the IdP."""

    kind: str  # "request" (IdP-initiated) or "response" (to ours)
    name_id: str = ""
    session_indexes: list[str] = field(default_factory=list)
    redirect_url: str = ""


def process_logout(
    sp: SpConfig, idp: IdpConfig, get_data: dict[str, str], request_id: str | None
) -> LogoutResult:
    """Validate an IdP's LogoutRequest or LogoutResponse (Redirect binding)."""
    auth = OneLogin_Saml2_Auth(request_data(sp.sls_url, get=get_data), settings_for(sp, idp))
    try:
        redirect = auth.process_slo(keep_local_session=True, request_id=request_id)
    except (OneLogin_Saml2_Error, ValueError, etree.Error, zlib.error) as exc:
        raise Rejected("invalid_logout", str(exc)[:300]) from exc
    if auth.get_errors():
        raise Rejected(
            "invalid_logout", auth.get_last_error_reason() or ", ".join(auth.get_errors())
        )
    if "SAMLRequest" in get_data:
        xml = auth.get_last_request_xml()
        return LogoutResult(
            kind="request",
            name_id=str(OneLogin_Saml2_Logout_Request.get_nameid(xml)),
            session_indexes=[
                str(s) for s in OneLogin_Saml2_Logout_Request.get_session_indexes(xml)
            ],
            redirect_url=str(redirect or ""),
        )
    return LogoutResult(kind="response")


def logout_issuer(saml_request: str) -> str:
    """The (unverified) Issuer of an IdP's LogoutRequest, to know whose keys check it."""
    try:
        xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(saml_request)
    # A message that is not deflated at all fails in zlib (found by contract fuzzing).
    except (ValueError, binascii.Error, zlib.error) as exc:
        raise Rejected("invalid_logout", "The SAMLRequest cannot be read.") from exc
    root = parse_without_dtd(xml, "invalid_logout", "The SAMLRequest cannot be read.")
    issuer = root.find("saml:Issuer", NS)
    if issuer is None or not (issuer.text or "").strip():
        raise Rejected("invalid_logout", "The LogoutRequest names no Issuer.")
    return str(issuer.text).strip()
