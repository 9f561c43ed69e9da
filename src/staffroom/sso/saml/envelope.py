"""Reading an untrusted SAML response before any signature is checked: size cap, base64,
no DTD, only plain signature transforms, then the (unverified) Issuer and what it answers."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from lxml import etree

from staffroom.sso.saml.errors import Rejected

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
