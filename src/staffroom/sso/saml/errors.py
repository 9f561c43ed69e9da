"""Rejected: a response or message we refuse, with a reason the SSO doctor can show; and
python3-saml's validation errors grouped into those reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from onelogin.saml2.errors import OneLogin_Saml2_ValidationError as V


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
REASONS: dict[int, str] = {
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
