"""SP-initiated login (our AuthnRequest) and the strict validation of the IdP's Response."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.errors import OneLogin_Saml2_Error
from onelogin.saml2.errors import OneLogin_Saml2_ValidationError as V
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from staffroom.sso.saml.config import IdpConfig, SpConfig, request_data, settings_for
from staffroom.sso.saml.envelope import Envelope
from staffroom.sso.saml.errors import REASONS, Rejected


@dataclass
class Assertion:
    """What a valid response says about the user."""

    name_id: str
    session_index: str
    attributes: dict[str, list[str]]
    assertion_id: str
    not_on_or_after: datetime | None
    authn_contexts: list[str]


def login_url(sp: SpConfig, idp: IdpConfig, relay_state: str) -> tuple[str, str]:
    """The IdP URL carrying our AuthnRequest, and the request's ID (to check InResponseTo)."""
    try:
        auth = OneLogin_Saml2_Auth(request_data(sp.acs_url), settings_for(sp, idp))
    except OneLogin_Saml2_Error as exc:  # e.g. an IdP stored without a certificate
        raise Rejected("idp_not_ready", "This identity provider is not fully set up.") from exc
    url = auth.login(return_to=relay_state)
    return str(url), str(auth.get_last_request_id())


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
        reason = REASONS.get(exc.code, "invalid_response")
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
        # xmlsec and python3-saml raise assorted errors for no, several or a broken
        # signature: each means "not signed by the IdP" (the doctor only; nothing accepted).
        except Exception:  # noqa: BLE001
            return False

    return verifies("/samlp:Response/ds:Signature") or verifies(
        "/samlp:Response/saml:Assertion/ds:Signature"
    )
