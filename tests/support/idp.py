"""A real SAML identity provider for the tests: pysaml2 with its own RSA key.

`respond` makes what a well-behaved IdP sends (signed by pysaml2 via xmlsec1);
`craft` builds a response from XML and signs it with the same key, so attack tests can
change anything and still carry a genuine signature. `clock_ahead` sets the IdP's clock
that many seconds ahead of ours; `metadata` is the IdP's metadata XML; `base` is where the
SPs it serves live (the browser journeys' server instead of the API tests' address).
"""

from __future__ import annotations

import base64
import re
import shutil
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from lxml import etree
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from saml2 import BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORD
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_BASIC, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

from tests.support.certs import rsa_signing_pair

SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
DIGEST256 = "http://www.w3.org/2001/04/xmlenc#sha256"
CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
MFA = "http://schemas.microsoft.com/claims/multipleauthn"
BASE = "https://staffroom.test/sso"


def sp_entity(org: str) -> str:
    return f"{BASE}/{org}/saml/metadata"


def acs(org: str) -> str:
    return f"{BASE}/{org}/saml/acs"


class TestIdp:
    """One IdP (entity id, key, certificate) serving the SPs of the given metadata."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        folder: Path,
        name: str,
        sp_metadata: list[str],
        days: int = 365,
        base: str = BASE,
    ) -> None:
        self.entity_id = f"https://{name}.idp.test/saml"
        self.base = base
        self.clock_ahead = 0
        self.cert_path, self.key_path = rsa_signing_pair(folder, name, days=days)
        self.cert = self.cert_path.read_text()
        self.key = self.key_path.read_text()
        conf = {
            "entityid": self.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": str(self.key_path),
            "cert_file": str(self.cert_path),
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            (f"https://{name}.idp.test/sso", BINDING_HTTP_REDIRECT)
                        ],
                        "single_logout_service": [
                            (f"https://{name}.idp.test/slo", BINDING_HTTP_REDIRECT)
                        ],
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 15},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_BASIC,
                        }
                    },
                }
            },
            "metadata": {"inline": sp_metadata},
            "allow_unknown_attributes": True,
        }
        config = IdPConfig()
        config.load(conf)
        self.server = Server(config=config)

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The body that configures this IdP in Staffroom (Entra ID claim names)."""
        return {
            "name": "Test IdP",
            "entity_id": self.entity_id,
            "sso_url": f"{self.entity_id.removesuffix('/saml')}/sso",
            "slo_url": f"{self.entity_id.removesuffix('/saml')}/slo",
            "certificates": [self.cert],
            "preset": "entra",
            **extra,
        }

    def read_request(self, location: str) -> tuple[str, str]:
        """(AuthnRequest ID, RelayState) from our redirect to the IdP."""
        query = parse_qs(urlparse(location).query)
        request = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        return str(request.message.id), query["RelayState"][0]

    def respond(
        self,
        in_response_to: str | None,
        *,
        org: str = "acme",
        name_id: str = "jane-1",
        email: str = "jane@acme.example",
        groups: tuple[str, ...] = (),
        extra: dict[str, list[str]] | None = None,
        sign_response: bool = True,
        sign_assertion: bool = True,
        sha1: bool = False,
        authn_class: str = PASSWORD,
        audience_org: str | None = None,
    ) -> str:
        """A base64 SAMLResponse as a real IdP sends it."""
        identity: dict[str, list[str]] = {f"{CLAIMS}/emailaddress": [email]} if email else {}
        identity[f"{CLAIMS}/givenname"] = ["Jane"]
        identity[f"{CLAIMS}/surname"] = ["Doe"]
        if groups:
            identity[GROUPS] = list(groups)
        identity.update(extra or {})
        skewed = self.clock_ahead != 0
        response = self.server.create_authn_response(
            identity,
            in_response_to=in_response_to,
            destination=f"{self.base}/{org}/saml/acs",
            sp_entity_id=f"{self.base}/{audience_org or org}/saml/metadata",
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=name_id),
            authn={"class_ref": authn_class, "authn_auth": self.entity_id},
            # With a skewed clock the times change after pysaml2 made them: signed below.
            sign_response=sign_response and not skewed,
            sign_assertion=sign_assertion and not skewed,
            **({} if sha1 else {"sign_alg": SHA256, "digest_alg": DIGEST256}),
        )
        if skewed:
            xml = _shift_times(str(response).encode(), self.clock_ahead)
            return self.craft(xml, sign_assertion=sign_assertion, sign_response=sign_response)
        return base64.b64encode(str(response).encode()).decode()

    def metadata(self) -> str:
        """This IdP's SAML metadata, as an IdP publishes it for its SPs."""
        body = "".join(line for line in self.cert.splitlines() if "-----" not in line)
        base = self.entity_id.removesuffix("/saml")
        return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{self.entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{body}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{base}/slo"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{base}/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""

    def craft(self, xml: bytes, *, sign_assertion: bool = True, sign_response: bool = True) -> str:
        """Sign hand-made response XML with this IdP's key (assertion first, then message)."""
        root = etree.fromstring(xml)
        if sign_assertion:
            assertion = root.find("{urn:oasis:names:tc:SAML:2.0:assertion}Assertion")
            # Signed as a document of its own: add_sign looks for //saml:Issuer from the root.
            signed = OneLogin_Saml2_Utils.add_sign(
                etree.tostring(assertion),
                self.key,
                self.cert,
                sign_algorithm=SHA256,
                digest_algorithm=DIGEST256,
            )
            root.replace(assertion, etree.fromstring(signed))
        out = etree.tostring(root)
        if sign_response:
            out = OneLogin_Saml2_Utils.add_sign(
                root, self.key, self.cert, sign_algorithm=SHA256, digest_algorithm=DIGEST256
            )
        return base64.b64encode(out).decode()

    def logout_request(self, org: str, name_id: str, session_index: str) -> dict[str, str]:
        """An IdP-initiated LogoutRequest as Redirect-binding query parameters."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        xml = (
            '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            f'ID="_{uuid.uuid4().hex}" Version="2.0" IssueInstant="{now}" '
            f'Destination="{BASE}/{org}/saml/sls">'
            f"<saml:Issuer>{self.entity_id}</saml:Issuer>"
            f'<saml:NameID Format="{NAMEID_FORMAT_PERSISTENT}">{name_id}</saml:NameID>'
            f"<samlp:SessionIndex>{session_index}</samlp:SessionIndex>"
            "</samlp:LogoutRequest>"
        )
        return self._redirect_params("SAMLRequest", xml)

    def logout_response(self, org: str, in_response_to: str, relay_state: str) -> dict[str, str]:
        """The IdP's answer to our LogoutRequest, Redirect binding."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        xml = (
            '<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            f'ID="_{uuid.uuid4().hex}" Version="2.0" IssueInstant="{now}" '
            f'Destination="{BASE}/{org}/saml/sls" InResponseTo="{in_response_to}">'
            f"<saml:Issuer>{self.entity_id}</saml:Issuer>"
            '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
            "</samlp:Status></samlp:LogoutResponse>"
        )
        return self._redirect_params("SAMLResponse", xml, relay_state)

    def _redirect_params(
        self, kind: str, xml: str, relay_state: str | None = None
    ) -> dict[str, str]:
        deflated = zlib.compress(xml.encode())[2:-4]
        params = {kind: base64.b64encode(deflated).decode()}
        if relay_state:
            params["RelayState"] = relay_state
        params["SigAlg"] = SHA256
        # The Redirect binding signs the query string itself (RSA-SHA256 by default).
        signature = OneLogin_Saml2_Utils.sign_binary(urlencode(params).encode(), self.key)
        params["Signature"] = base64.b64encode(signature).decode()
        return params


def future(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


_INSTANT = re.compile(
    rb'((?:IssueInstant|NotBefore|NotOnOrAfter|AuthnInstant|SessionNotOnOrAfter)=")([^"]+)"'
)


def _shift_times(xml: bytes, seconds: int) -> bytes:
    """Every instant in a response as a clock `seconds` ahead would have written it."""

    def shift(match: re.Match[bytes]) -> bytes:
        at = datetime.fromisoformat(match.group(2).decode().replace("Z", "+00:00"))
        moved = (at + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return match.group(1) + moved.encode() + b'"'

    return _INSTANT.sub(shift, xml)
