"""`state`, `nonce` and the PKCE verifier: single-use and bound to the browser.

How the SAML flow does it (sso/service/login.py), mirrored here: the RelayState is an
opaque 256-bit token; the server keeps only its HMAC digest in a row (`SamlLoginState`)
with the AuthnRequest ID, the purpose (login or link), where to go after, the linking
user and an expiry; the ACS looks the row up by digest within the org and consumes it
with one conditional UPDATE … RETURNING (unused and unexpired), so it works once.

OIDC keeps that server half (`OidcLoginState`: digests of state and nonce, purpose, next
URL, linking user, expiry, consumed once the same way) and adds the browser half that
SAML's cross-site POST cannot carry but OIDC's callback, a top-level GET redirect, can:

- `begin` draws state, nonce (256 bits each) and a PKCE code verifier, and seals all
  three (AES-256-GCM under the data key, the org id as associated data) into a cookie
  named after the state's digest (so two tabs signing in at once do not clobber each
  other), HttpOnly, Secure, SameSite=Lax, path limited to the callback, max-age the
  state's lifetime. The verifier and nonce exist nowhere else: the row alone completes
  nothing, and a database reader learns neither.
- `redeem` accepts a callback only from the browser holding that cookie: it must open
  under our key for this org, name the same state (compared in constant time), and
  match the row's idp and nonce digest; then the row is consumed atomically. A second
  use of the same callback is `replay`; anything else (no cookie, another browser's or
  another org's cookie, an unknown or expired state) is `state`; once the cookie opened
  under our key, the refusal names the IdP it was sealed for (the doctor files it there).

So a callback URL (code and state) that leaks, or that an attacker plants in a victim's
browser to sign them in as the attacker (login CSRF), is useless without the cookie;
and the verifier never travels in a URL, so a stolen code cannot be redeemed either.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from staffroom.core import clock
from staffroom.core.crypto import DecryptionFailed, KeyRing
from staffroom.core.tokens import new_token
from staffroom.sso.oidc.config import OidcIdp
from staffroom.sso.oidc.errors import Rejected
from staffroom.sso.oidc.tables import OidcLoginState

STATE_TTL = timedelta(minutes=10)
COOKIE_PREFIX = "staffroom_oidc_"
# state is ours (43 characters); anything far longer is not, and is not hashed.
MAX_STATE_LENGTH = 256
# Rows past their expiry by this much are deleted when a sign-in starts.
KEEP_EXPIRED = timedelta(hours=1)


@dataclass(frozen=True)
class FlowSecrets:
    """What one authorization request carries: state and nonce out, the verifier kept."""

    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class BrowserBinding:
    """The cookie the callback will need: set it HttpOnly, Secure, SameSite=Lax."""

    name: str
    value: str
    max_age: int
    path: str


@dataclass(frozen=True)
class LoginState:
    """A redeemed sign-in: the row's facts and the browser's sealed secrets."""

    id: uuid.UUID
    org_id: uuid.UUID
    idp_id: uuid.UUID
    purpose: str
    next_url: str
    link_user: uuid.UUID | None
    nonce: str
    code_verifier: str


def new_secrets() -> FlowSecrets:
    """Fresh state and nonce (256 bits) and a PKCE verifier (RFC 7636: 43 to 128 characters)."""
    return FlowSecrets(new_token(), new_token(), secrets.token_urlsafe(64))


def cookie_name(keys: KeyRing, state: str) -> str:
    """The binding cookie's name for a state (a digest: the name reveals nothing)."""
    return COOKIE_PREFIX + keys.digest(state, purpose="oidc_cookie")[:16]


def _aad(org_id: uuid.UUID) -> bytes:
    return f"oidc-login\x00{org_id}".encode()


def seal(keys: KeyRing, org_id: uuid.UUID, idp_id: uuid.UUID, flow: FlowSecrets) -> str:
    """The cookie's value: the flow's secrets sealed for this org."""
    plain = {"s": flow.state, "n": flow.nonce, "v": flow.code_verifier, "i": str(idp_id)}
    return keys.encrypt(json.dumps(plain).encode(), aad=_aad(org_id))


def unseal(keys: KeyRing, org_id: uuid.UUID, value: str) -> tuple[FlowSecrets, uuid.UUID]:
    """Open a binding cookie of this org, or refuse it (`state`)."""
    try:
        plain = json.loads(keys.decrypt(value, aad=_aad(org_id)))
        return FlowSecrets(plain["s"], plain["n"], plain["v"]), uuid.UUID(plain["i"])
    except (DecryptionFailed, ValueError, KeyError, TypeError) as exc:
        raise Rejected("state", "The sign-in cookie is not one of ours for this org.") from exc


async def remember(
    keys: KeyRing,
    idp: OidcIdp,
    flow: FlowSecrets,
    *,
    purpose: str = "login",
    next_url: str = "",
    link_user: uuid.UUID | None = None,
    state_id: uuid.UUID | None = None,
) -> BrowserBinding:
    """Store the request's server half (under `state_id` when the caller must know the
    row, as an admin's test sign-in does); return the browser half (the cookie)."""
    now = clock.utcnow()
    await OidcLoginState.delete().where(OidcLoginState.expires_at < now - KEEP_EXPIRED)
    await OidcLoginState.insert(
        OidcLoginState(
            id=state_id or uuid.uuid4(),
            org=idp.org_id,
            idp=idp.idp_id,
            purpose=purpose,
            state_hash=keys.digest(flow.state, purpose="oidc_state"),
            nonce_hash=keys.digest(flow.nonce, purpose="oidc_nonce"),
            next_url=next_url,
            link_user=link_user,
            expires_at=now + STATE_TTL,
            created_at=now,
        )
    )
    return BrowserBinding(
        name=cookie_name(keys, flow.state),
        value=seal(keys, idp.org_id, idp.idp_id, flow),
        max_age=int(STATE_TTL.total_seconds()),
        path=_path_of(idp.redirect_uri),
    )


def _path_of(url: str) -> str:
    return urlsplit(url).path or "/"


async def redeem(
    keys: KeyRing, org_id: uuid.UUID, state: str | None, cookies: Mapping[str, str]
) -> LoginState:
    """The sign-in this callback answers, consumed now; only from the browser that began it."""
    if not state or len(state) > MAX_STATE_LENGTH:
        raise Rejected("state", "The answer carries no state of ours.")
    sealed = cookies.get(cookie_name(keys, state))
    if not sealed:
        raise Rejected("state", "No sign-in was started in this browser for this state.")
    flow, idp_id = unseal(keys, org_id, sealed)
    if not hmac.compare_digest(flow.state.encode(), state.encode()):
        raise Rejected(
            "state", "The state is not the one this browser's sign-in sent.", idp_id=idp_id
        )
    row = (
        await OidcLoginState.select()
        .where(
            (OidcLoginState.state_hash == keys.digest(state, purpose="oidc_state"))
            & (OidcLoginState.org == org_id)
        )
        .first()
    )
    nonce_hash = keys.digest(flow.nonce, purpose="oidc_nonce")
    if (
        row is None
        or row["idp"] != idp_id
        or not hmac.compare_digest(row["nonce_hash"], nonce_hash)
    ):
        raise Rejected(
            "state", "No sign-in of this org was started with this state.", idp_id=idp_id
        )
    now = clock.utcnow()
    used = (
        await OidcLoginState.update({OidcLoginState.used_at: now})
        .where(
            (OidcLoginState.id == row["id"])
            & OidcLoginState.used_at.is_null()
            & (OidcLoginState.expires_at > now)
        )
        .returning(OidcLoginState.id)
    )
    if not used:
        if row["used_at"] is not None or await _used(row["id"]):
            raise Rejected("replay", "This sign-in was already completed.", idp_id=idp_id)
        raise Rejected("state", "This sign-in has expired: start again.", idp_id=idp_id)
    return LoginState(
        id=row["id"],
        org_id=org_id,
        idp_id=idp_id,
        purpose=row["purpose"],
        next_url=row["next_url"],
        link_user=row["link_user"],
        nonce=flow.nonce,
        code_verifier=flow.code_verifier,
    )


async def _used(state_id: uuid.UUID) -> bool:
    """Whether a concurrent callback consumed the row after we read it."""
    return await OidcLoginState.exists().where(
        (OidcLoginState.id == state_id) & OidcLoginState.used_at.is_not_null()
    )
