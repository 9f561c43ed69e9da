"""The SAML service provider: the only package importing python3-saml and lxml (rule 4).

`config` (our SP and an IdP as python3-saml needs them), `envelope` (reading a response
before trusting it), `login` (AuthnRequest, Response validation), `logout` (Single
Logout), `metadata` (ours and an IdP's), `errors` (Rejected and its reasons); callers use
the names exported here.

Every call here parses or signs XML and blocks: callers run it in a thread (rule 5).
Validation is strict (SECURITY.md rule 8): signed assertions, signed messages where the
IdP signs them, no SHA-1, Destination and Recipient from our public URL, never the Host.
"""

from staffroom.sso.saml.config import IdpConfig, SpConfig, request_data, settings_for
from staffroom.sso.saml.envelope import Envelope, open_envelope, parse_without_dtd
from staffroom.sso.saml.errors import Rejected
from staffroom.sso.saml.login import Assertion, login_url, signed_by_idp, validate_response
from staffroom.sso.saml.logout import LogoutResult, logout_issuer, logout_url, process_logout
from staffroom.sso.saml.metadata import normalize_certificate, parse_idp_metadata, sp_metadata

__all__ = [
    "Assertion",
    "Envelope",
    "IdpConfig",
    "LogoutResult",
    "Rejected",
    "SpConfig",
    "login_url",
    "logout_issuer",
    "logout_url",
    "normalize_certificate",
    "open_envelope",
    "parse_idp_metadata",
    "parse_without_dtd",
    "process_logout",
    "request_data",
    "settings_for",
    "signed_by_idp",
    "sp_metadata",
    "validate_response",
]
