"""An OpenID Connect sign-in from start to a validated assertion.

`begin` → (the IdP's URL, the binding cookie). The browser comes back to our callback
with `code` and `state`; `complete` (or `binding.redeem` then `finish`, for a caller that
wants the IdP row in between) turns that into an `OidcAssertion`, or raises `Rejected`
with the doctor's reason. What the assertion then means for accounts (identity by sub,
JIT under the domain policy, group rules, the IdP-MFA policy, the one-time code for the
app) is the same login pipeline as SAML's, outside this package.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from staffroom.core.crypto import KeyRing
from staffroom.sso.oidc import binding, client, config, id_token
from staffroom.sso.oidc.binding import BrowserBinding, LoginState
from staffroom.sso.oidc.claims import OidcAssertion, to_assertion
from staffroom.sso.oidc.config import OidcIdp
from staffroom.sso.oidc.discovery import Providers
from staffroom.sso.oidc.errors import Rejected

# An authorization code is the IdP's opaque string; Entra ID's run to ~1.5 KB.
MAX_CODE_LENGTH = 4096


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and the cookie to set on that same response."""

    url: str
    cookie: BrowserBinding


@dataclass(frozen=True)
class Completed:
    """A finished sign-in: what was started (purpose, next URL, linking user) and who."""

    state: LoginState
    assertion: OidcAssertion


async def begin(
    keys: KeyRing,
    providers: Providers,
    idp: OidcIdp,
    *,
    purpose: str = "login",
    next_url: str = "",
    link_user: uuid.UUID | None = None,
    state_id: uuid.UUID | None = None,
) -> Started:
    """Start a sign-in (or a link, for a signed-in user; or an admin's test) at this IdP."""
    config.check(idp)
    metadata = await providers.metadata(idp.issuer)
    flow = binding.new_secrets()
    url = await client.authorization_url(providers, idp, metadata, flow)
    cookie = await binding.remember(
        keys, idp, flow, purpose=purpose, next_url=next_url, link_user=link_user, state_id=state_id
    )
    return Started(url, cookie)


async def complete(
    keys: KeyRing,
    providers: Providers,
    org_id: uuid.UUID,
    params: Mapping[str, str],
    cookies: Mapping[str, str],
    idp_for: Callable[[uuid.UUID], Awaitable[OidcIdp]],
) -> Completed:
    """The callback: redeem the browser's sign-in, then `finish` with its IdP.

    `idp_for(idp_id)` gives the org's enabled IdP of that id (raising Rejected
    `idp_not_ready` when it is gone or disabled)."""
    state = await binding.redeem(keys, org_id, params.get("state"), cookies)
    try:
        idp = await idp_for(state.idp_id)
        return Completed(state, await finish(providers, idp, state, params))
    except Rejected as rejected:
        rejected.idp_id = state.idp_id
        raise


async def finish(
    providers: Providers, idp: OidcIdp, state: LoginState, params: Mapping[str, str]
) -> OidcAssertion:
    """Exchange the code of a redeemed sign-in and validate the ID token."""
    if idp.org_id != state.org_id or idp.idp_id != state.idp_id:
        raise Rejected("state", "This sign-in was started for another identity provider.")
    config.check(idp)
    error = params.get("error")
    if error:
        described = params.get("error_description", "")
        raise Rejected("idp_status", f"{error}: {described}"[:300])
    code = params.get("code")
    if not code or len(code) > MAX_CODE_LENGTH:
        raise Rejected("code", "The IdP's answer has no usable authorization code.")
    # RFC 9207: an answer naming its issuer must name ours (a mix-up with another IdP).
    answered_by = params.get("iss")
    if answered_by is not None and answered_by != idp.issuer:
        raise Rejected("issuer", f"The answer comes from {answered_by!r:.200}, not {idp.issuer!r}.")
    try:
        metadata = await providers.metadata(idp.issuer)
        token = await client.exchange(providers, idp, metadata, code, state.code_verifier)
        raw = token["id_token"]
        claims = await id_token.validate(providers, metadata, idp, raw, state.nonce)
    except Rejected as rejected:
        # From here on, what is refused came from the IdP (fetched by us), not the browser.
        rejected.from_idp = True
        raise
    return to_assertion(claims, idp, raw)
