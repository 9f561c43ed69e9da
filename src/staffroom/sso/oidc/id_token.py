"""Strict ID token validation (OpenID Connect Core §3.1.3.7) with joserfc.

In this order, each failure its own reason word:
1. size (`token_too_large`) before anything is parsed;
2. the JWS compact form, read by joserfc (`malformed_token`); a `typ` other than JWT
   (an access or logout token offered as an ID token) is `token_type`;
3. the header's `alg` in the allow-list RS256, ES256, PS256 (`algorithm`): never `none`,
   never HS* (an HMAC "signed" with the IdP's public key as the secret is refused here,
   before any key is looked at), and the key must be of that algorithm's family;
4. the key from the issuer's JWKS by `kid`, one refetch for an unknown kid
   (`unknown_key`), and the signature verified by joserfc with that key and that
   algorithm only (`signature`);
5. the claims: `iss` exactly ours (`issuer`); `aud` containing our client id, and with
   several audiences (or any `azp`) `azp` ours (`audience`); `exp`, `iat` and `nbf`
   within CLOCK_SKEW of our clock (`clock_skew`, with the seconds: positive early,
   negative late, as the SAML doctor shows them); `nonce` the one this sign-in sent
   (`nonce`); `sub` present (`missing_claim`); the preset's pins: Google's `hd`
   (`hosted_domain`), Entra ID's `tid` (`tenant`).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jws import CompactSignature

from staffroom.core import clock
from staffroom.sso.oidc.config import OidcIdp
from staffroom.sso.oidc.discovery import ALLOWED_ALGORITHMS, ProviderMetadata, Providers
from staffroom.sso.oidc.errors import Rejected

# The clock difference we allow between the IdP and us, in seconds, for exp, iat and nbf.
CLOCK_SKEW = 120
# An ID token with 200 Entra ID groups is about 12 KB; anything past this is refused unread.
MAX_TOKEN_BYTES = 32 * 1024
MAX_SUBJECT_LENGTH = 255  # OpenID Connect Core §2: sub is at most 255 ASCII characters
_ID_TOKEN_TYPES = frozenset({"jwt", "application/jwt"})


async def validate(
    providers: Providers, metadata: ProviderMetadata, idp: OidcIdp, token: str, nonce: str
) -> dict[str, Any]:
    """The claims of a valid ID token for this IdP and sign-in (raises Rejected)."""
    if len(token) > MAX_TOKEN_BYTES:
        raise Rejected(
            "token_too_large", f"The ID token has {len(token)} bytes; at most {MAX_TOKEN_BYTES}."
        )
    jws_object = _extract(token)
    header = dict(jws_object.headers())
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise Rejected(
            "algorithm",
            f"The ID token is signed with {alg!r:.40}; only {', '.join(ALLOWED_ALGORITHMS)} "
            "are accepted.",
        )
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise Rejected("malformed_token", "The token's kid is not a string.")
    try:
        key = await providers.signing_key(metadata.jwks_uri, kid, alg)
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except BadSignatureError as exc:
            raise Rejected(
                "signature", f"The {alg} signature does not verify (kid {kid!r})."
            ) from exc
        except JoseError as exc:
            raise Rejected("signature", f"The token could not be verified: {exc.error}.") from exc
    except Rejected as rejected:
        # As SAML's Rejected.issuer: the issuer the refused token names, unverified, so
        # the doctor can say "a token of another IdP" (the verdict never rests on it).
        rejected.issuer = _unverified_issuer(jws_object)
        raise
    check_claims(claims, idp, nonce)
    return claims


def _extract(token: str) -> CompactSignature:
    """The token's parts as joserfc reads them; its typ, if any, must be JWT."""
    try:
        jws_object = jws.extract_compact(token.encode("ascii"))
    except (JoseError, ValueError, UnicodeError) as exc:
        raise Rejected("malformed_token", "The ID token is not a JWS in compact form.") from exc
    typ = jws_object.headers().get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _ID_TOKEN_TYPES):
        raise Rejected("token_type", f"The token's typ is {typ!r:.60}, not JWT.")
    return jws_object


def _unverified_issuer(jws_object: CompactSignature) -> str:
    try:
        issuer = json.loads(jws_object.payload or b"").get("iss")
    except (ValueError, AttributeError):
        return ""
    return issuer[:500] if isinstance(issuer, str) else ""


def _time(claims: dict[str, Any], name: str, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    # bool is an int in Python; JSON true is no time.
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise Rejected("missing_claim", f"The ID token's {name} is missing or not a number.")
    return float(value)


def check_claims(claims: dict[str, Any], idp: OidcIdp, nonce: str) -> None:
    """The claim checks of step 5 on verified claims."""
    issuer = claims.get("iss")
    if issuer != idp.issuer:
        raise Rejected(
            "issuer",
            f"The ID token's iss is {issuer!r:.200}, not {idp.issuer!r}.",
            issuer=issuer if isinstance(issuer, str) else "",
        )
    _check_audience(claims, idp.client_id)
    _check_times(claims)
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise Rejected(
            "nonce",
            "The ID token carries no nonce."
            if sent is None
            else "The ID token's nonce is not the one this sign-in sent.",
        )
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise Rejected("missing_claim", "The ID token has no sub (subject).")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise Rejected(
            "missing_claim", f"The sub has {len(subject)} characters; at most 255 are accepted."
        )
    _check_preset(claims, idp)


def _check_audience(claims: dict[str, Any], client_id: str) -> None:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise Rejected("audience", "The ID token has no valid aud.")
    if client_id not in audiences:
        raise Rejected(
            "audience", f"The ID token is for {', '.join(audiences)[:200]!r}, not for us."
        )
    azp = claims.get("azp")
    # §3.1.3.7 items 4-5: with several audiences, azp must be there and be us; if there, us.
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise Rejected("audience", f"The ID token was issued to {azp!r:.200} (azp), not to us.")


def _check_times(claims: dict[str, Any]) -> None:
    now = clock.now_ts()
    expires = _time(claims, "exp", required=True)
    issued = _time(claims, "iat", required=True)
    not_before = _time(claims, "nbf", required=False)
    assert expires is not None and issued is not None
    if now > expires + CLOCK_SKEW:
        late = int(now - expires)
        raise Rejected(
            "clock_skew",
            f"The ID token expired {late} s ago (allowed skew {CLOCK_SKEW} s).",
            skew_seconds=-late,
        )
    for name, when in (("iat", issued), ("nbf", not_before)):
        if when is not None and when > now + CLOCK_SKEW:
            early = int(when - now)
            raise Rejected(
                "clock_skew",
                f"The ID token's {name} is {early} s in the future (allowed skew {CLOCK_SKEW} s).",
                skew_seconds=early,
            )


def _check_preset(claims: dict[str, Any], idp: OidcIdp) -> None:
    if idp.preset == "google":
        hd = claims.get("hd")
        if not isinstance(hd, str) or hd.lower() != idp.hosted_domain.lower():
            raise Rejected(
                "hosted_domain",
                f"The Google account's hd is {hd!r:.100}, not {idp.hosted_domain!r}.",
            )
    if idp.preset == "entra":
        tid = claims.get("tid")
        if not isinstance(tid, str) or tid.lower() != idp.tenant_id.lower():
            raise Rejected(
                "tenant", f"The token's tid is {tid!r:.100}, not tenant {idp.tenant_id!r}."
            )
