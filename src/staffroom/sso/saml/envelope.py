"""The SAML service provider: the only module importing python3-saml (rule 4).

Every call here parses or signs XML and blocks: callers run it in a thread (rule 5).
Validation is strict (SECURITY.md rule 8): signed assertions, signed messages where the
IdP signs them, no SHA-1, Destination and Recipient from our public URL, never the Host.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.errors import OneLogin_Saml2_Error
from onelogin.saml2.errors import OneLogin_Saml2_ValidationError as V
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
# The only transforms a SAML signature needs; anything else (XSLT, XPath …) is an attack.
ALLOWED_TRANSFORMS = frozenset(
    {
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    }
)
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


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


@dataclass
class Assertion:
    """What a valid response says about the user."""

    name_id: str
    session_index: str
    attributes: dict[str, list[str]]
    assertion_id: str
    not_on_or_after: datetime | None
    authn_contexts: list[str]


@dataclass
class Rejected(Exception):
    """A response or message we refuse, with a reason the SSO doctor can show."""

    reason: str
    detail: str = ""
    skew_seconds: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The (unverified) Issuer, when the response was refused after it could be read.
    issuer: str = ""


# python3-saml's validation error codes, grouped into what an IT admin needs to fix.
_REASONS: dict[int, str] = {
    **dict.fromkeys(
        (
            V.WRONG_SIGNED_ELEMENT,
            V.ID_NOT_FOUND_IN_SIGNED_ELEMENT,
            V.DUPLICATED_ID_IN_SIGNED_ELEMENTS,
            V.INVALID_SIGNED_ELEMENT,
            V.DUPLICATED_REFERENCE_IN_SIGNED_ELEMENTS,
            V.UNEXPECTED_SIGNED_ELEMENTS,
            V.WRONG_NUMBER_OF_SIGNATURES_IN_RESPONSE,
            V.WRONG_NUMBER_OF_SIGNATURES_IN_ASSERTION,
            V.WRONG_NUMBER_OF_SIGNATURES,
            V.NO_SIGNED_MESSAGE,
            V.NO_SIGNED_ASSERTION,
            V.NO_SIGNATURE_FOUND,
            V.INVALID_SIGNATURE,
        ),
        "signature",
    ),
    V.DEPRECATED_SIGNATURE_METHOD: "deprecated_algorithm",
    V.DEPRECATED_DIGEST_METHOD: "deprecated_algorithm",
    V.WRONG_AUDIENCE: "audience",
    V.WRONG_DESTINATION: "destination",
    V.EMPTY_DESTINATION: "destination",
    V.ASSERTION_TOO_EARLY: "clock_skew",
    V.ASSERTION_EXPIRED: "clock_skew",
    V.RESPONSE_EXPIRED: "clock_skew",
    V.SESSION_EXPIRED: "clock_skew",
    V.WRONG_SUBJECTCONFIRMATION: "subject_confirmation",
    V.WRONG_INRESPONSETO: "in_response_to",
    V.WRONG_ISSUER: "issuer",
    V.ISSUER_MULTIPLE_IN_RESPONSE: "issuer",
    V.ISSUER_NOT_FOUND_IN_ASSERTION: "issuer",
    V.STATUS_CODE_IS_NOT_SUCCESS: "idp_status",
    V.MISSING_STATUS: "idp_status",
    V.MISSING_STATUS_CODE: "idp_status",
    V.WRONG_NUMBER_OF_ASSERTIONS: "assertion_count",
    V.NO_NAMEID: "missing_nameid",
    V.EMPTY_NAMEID: "missing_nameid",
    V.SP_NAME_QUALIFIER_NAME_MISMATCH: "audience",
}


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


def sp_metadata(sp: SpConfig) -> str:
    """Our SP metadata XML (entity id, ACS, SLS, and the signing cert when there is one)."""
    # The IdP part of the settings is not read for SP metadata.
    placeholder = IdpConfig("", "", "", (), signs_messages=True)
    settings = OneLogin_Saml2_Settings(settings_for(sp, placeholder), sp_validation_only=True)
    metadata = settings.get_sp_metadata()
    return metadata.decode() if isinstance(metadata, bytes) else str(metadata)


def login_url(sp: SpConfig, idp: IdpConfig, relay_state: str) -> tuple[str, str]:
    """The IdP URL carrying our AuthnRequest, and the request's ID (to check InResponseTo)."""
    try:
        auth = OneLogin_Saml2_Auth(request_data(sp.acs_url), settings_for(sp, idp))
    except OneLogin_Saml2_Error as exc:  # e.g. an IdP stored without a certificate
        raise Rejected("idp_not_ready", "This identity provider is not fully set up.") from exc
    url = auth.login(return_to=relay_state)
    return str(url), str(auth.get_last_request_id())


def parse_without_dtd(xml: bytes, reason: str, detail: str) -> etree._Element:
    """Parse untrusted XML, refusing any DTD whatever the document's encoding.

    The byte test is a cheap first filter only: a UTF-16 (or UTF-32) document spells
    `<!DOCTYPE` in other bytes, so the parsed document itself is checked too.
    """
    if b"<!DOCTYPE" in xml.upper() or b"<!ENTITY" in xml.upper():
        raise Rejected("dtd", "Document type declarations are not allowed.")
    try:
        tree = etree.fromstring(xml, parser=_SAFE_PARSER).getroottree()
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise Rejected(reason, detail) from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Rejected("dtd", "Document type declarations are not allowed.")
    return tree.getroot()


def _check_signature_shape(root: etree._Element) -> None:
    """Only plain transforms, and each Reference naming the element it signs by its ID.

    python3-saml skips its Reference check when URI is empty (`URI=""` signs the whole
    document) and later finds no assertion to read, reporting a missing Conditions
    element: refused here with the real reason.
    """
    for transform in root.iterfind(".//ds:Transform", NS):
        algorithm = transform.get("Algorithm", "")
        if algorithm not in ALLOWED_TRANSFORMS:
            raise Rejected("forbidden_transform", f"Signature transform not allowed: {algorithm}")
    for signature in root.iterfind(".//ds:Signature", NS):
        parent = signature.getparent()
        signed_id = parent.get("ID") if parent is not None else None
        for reference in signature.iterfind("ds:SignedInfo/ds:Reference", NS):
            uri = reference.get("URI")
            if not signed_id or uri != f"#{signed_id}":
                raise Rejected(
                    "signature",
                    f"The signature's Reference URI is {uri!r}: it must name the signed element "
                    f"by its ID ('#{signed_id or '…'}'); an empty URI signs the whole document.",
                )


@dataclass(frozen=True)
class Envelope:
    """What can be read from a response before trusting it: who sent it, for which request."""

    xml: bytes
    issuer: str
    in_response_to: str | None
    not_before: str | None
    not_on_or_after: str | None


def open_envelope(saml_response: str, max_bytes: int) -> Envelope:
    """Size cap, base64, no DTD, no exotic transforms, then the unverified Issuer.

    All of this runs before any signature is checked: it refuses input that should
    never reach the XML security library.
    """
    if len(saml_response) > max_bytes:
        raise Rejected("too_large", f"The SAMLResponse is over {max_bytes} bytes.")
    try:
        xml = base64.b64decode(saml_response, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise Rejected("malformed", "The SAMLResponse is not base64.") from exc
    root = parse_without_dtd(xml, "malformed", "The SAMLResponse is not XML.")
    if root.tag != f"{{{NS['samlp']}}}Response":
        raise Rejected("malformed", "This is not a SAML Response.")
    issuers = [i.text or "" for i in root.iterfind("saml:Issuer", NS)]
    issuers += [i.text or "" for i in root.iterfind("saml:Assertion/saml:Issuer", NS)]
    if not issuers:
        raise Rejected("issuer", "The response names no Issuer.")
    issuer = issuers[0].strip()
    try:
        _check_signature_shape(root)
        if not root.get("Destination"):
            # python3-saml only compares a Destination that is there; a signed response needs one.
            raise Rejected("destination", "The response has no Destination.")
    except Rejected as rejected:
        # The doctor files it under the IdP the response names (among unsigned attempts:
        # anyone can name an IdP), not under "unknown issuer".
        rejected.issuer = issuer
        raise
    conditions = root.find("saml:Assertion/saml:Conditions", NS)
    return Envelope(
        xml=xml,
        issuer=issuer,
        in_response_to=root.get("InResponseTo"),
        not_before=conditions.get("NotBefore") if conditions is not None else None,
        not_on_or_after=conditions.get("NotOnOrAfter") if conditions is not None else None,
    )


def _skew(envelope: Envelope, now: datetime) -> int | None:
    """Seconds the assertion is early (positive) or late (negative) against our clock."""
    try:
        if envelope.not_before and datetime.fromisoformat(envelope.not_before) > now:
            return int((datetime.fromisoformat(envelope.not_before) - now).total_seconds())
        if envelope.not_on_or_after:
            late = now - datetime.fromisoformat(envelope.not_on_or_after)
            return -int(late.total_seconds())
    except ValueError:
        return None
    return None


def validate_response(
    sp: SpConfig, idp: IdpConfig, envelope: Envelope, request_id: str | None
) -> Assertion:
    """Check everything python3-saml checks, strictly; the assertion or Rejected."""
    b64 = base64.b64encode(envelope.xml).decode()
    settings = OneLogin_Saml2_Settings(settings_for(sp, idp), sp_validation_only=False)
    data = request_data(sp.acs_url, post={"SAMLResponse": b64})
    try:
        response = OneLogin_Saml2_Response(settings, b64)
        response.is_valid(data, request_id, raise_exceptions=True)
        if sp.entity_id not in response.get_audiences():
            # python3-saml accepts an assertion with no AudienceRestriction at all; we do not.
            raise Rejected("audience", "The assertion is not restricted to this service provider.")
        # Reading the assertion validates too (a missing or empty NameID raises): inside
        # the same handling, so every refusal is a Rejected with its reason, never a 500.
        name_id = str(response.get_nameid() or "")
        not_after = response.get_assertion_not_on_or_after()
        assertion = Assertion(
            name_id=name_id,
            session_index=str(response.get_session_index() or ""),
            attributes={k: [str(v) for v in vs] for k, vs in response.get_attributes().items()},
            assertion_id=str(response.get_assertion_id() or ""),
            not_on_or_after=datetime.fromtimestamp(not_after, UTC) if not_after else None,
            authn_contexts=[str(c) for c in response.get_authn_contexts()],
        )
    except Rejected:
        raise
    except V as exc:
        reason = _REASONS.get(exc.code, "invalid_response")
        skew = _skew(envelope, datetime.now(UTC)) if reason == "clock_skew" else None
        raise Rejected(reason, str(exc), skew) from exc
    except Exception as exc:
        # python3-saml raises assorted errors (OneLogin_Saml2_Error, ValueError, lxml's)
        # for malformed or hostile XML.
        raise Rejected("invalid_response", str(exc)[:300]) from exc
    if not assertion.name_id.strip():
        raise Rejected("missing_nameid", "The assertion's NameID is blank.")
    return assertion


def signed_by_idp(idp: IdpConfig, envelope: Envelope) -> bool:
    """Whether the response or its assertion carries a signature that one of the IdP's
    certificates verifies: for the SSO doctor only (it tells a real IdP's refused response
    from anyone's post), never a reason to accept anything."""
    certificates = list(idp.certificates)

    def verifies(xpath: str) -> bool:
        try:
            return bool(
                OneLogin_Saml2_Utils.validate_sign(
                    envelope.xml, xpath=xpath, multicerts=certificates
                )
            )
        except Exception:  # no, several or a broken signature: not signed by the IdP
            return False

    return verifies("/samlp:Response/ds:Signature") or verifies(
        "/samlp:Response/saml:Assertion/ds:Signature"
    )


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
