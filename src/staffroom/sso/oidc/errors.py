"""Why an OpenID Connect sign-in was refused: one stable word per cause, as the SAML doctor.

The words are the SSO doctor's vocabulary (`SsoAttempt.reason`): an IT admin reads them,
so each names what to fix, and the tests assert them. Words shared with SAML (`issuer`,
`audience`, `signature`, `clock_skew`, `replay`, `idp_status`) mean the same there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

REASONS: MappingProxyType[str, str] = MappingProxyType(
    {
        # The IdP's configuration and documents
        "idp_not_ready": "The identity provider is not fully set up here.",
        "idp_unreachable": "The identity provider could not be reached.",
        "private_address": "An IdP URL is not a public address (SSO_METADATA_ALLOW_PRIVATE).",
        "discovery": "The IdP's discovery document is missing, invalid or unusable.",
        "jwks": "The IdP's key set (jwks_uri) is missing or invalid.",
        "issuer": "The issuer is not the configured one (discovery, callback or ID token).",
        # The browser's side of the flow
        "state": "No sign-in was started in this browser for this answer, or it expired.",
        "replay": "This sign-in answer was already used.",
        "idp_status": "The IdP answered with an error instead of a code.",
        "code": "The IdP's answer carries no authorization code.",
        "token_endpoint": "The IdP's token endpoint refused the code.",
        # The ID token
        "token_too_large": "The ID token is larger than accepted.",
        "malformed_token": "The ID token is not a signed JWT (JWS compact form).",
        "token_type": "The token is typed as something other than an ID token.",
        "algorithm": "The ID token is signed with an algorithm that is not allowed.",
        "unknown_key": "No key of the IdP's key set matches the token's key id.",
        "signature": "The ID token's signature does not verify with the IdP's key.",
        "audience": "The ID token is for another client (aud or azp).",
        "clock_skew": "The ID token is expired or issued in the future beyond the allowed skew.",
        "missing_claim": "The ID token lacks a required claim.",
        "nonce": "The ID token's nonce is missing or is not the one this sign-in sent.",
        "hosted_domain": "The Google account is not of the configured Workspace domain (hd).",
        "tenant": "The token or issuer is not of the configured Entra ID tenant (tid).",
        # Facts the login pipeline must respect after validation
        "email_unverified": "The IdP does not vouch for the email: it links or makes no account.",
        "groups_overage": "The IdP left the groups out of the token (too many to list).",
    }
)


@dataclass
class Rejected(Exception):
    """An OIDC answer we refuse, with a reason the SSO doctor can show.

    Same fields as `saml.Rejected` so the login pipeline can treat both alike, plus
    `from_idp`: true once the refusal concerns what the IdP itself sent over the back
    channel (the token endpoint's answer, fetched by us over TLS with our client secret),
    false for what any browser can send (state, cookie, callback parameters). The doctor
    files the first with the IdP's real attempts and the second apart (its `signed`).
    """

    reason: str
    detail: str = ""
    skew_seconds: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    issuer: str = ""
    from_idp: bool = False
    # The IdP the refused answer belongs to, once the login state told us.
    idp_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        # An unknown word would reach the doctor unexplained: catch it where it is written.
        assert self.reason in REASONS, self.reason
        super().__init__(self.reason, self.detail)
