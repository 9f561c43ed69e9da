"""OpenID Connect sign-in of an org's IdP: starting it, and its callback.

The callback lets the protocol core (`sso/oidc/flow.py`) redeem the browser's sign-in and
validate the ID token, then hands the assertion to the same login pipeline as SAML's ACS
(`pipeline.py`): identity by (org, IdP, sub), JIT under the domain policy and only for an
email the IdP vouches for, group rules, the IdP-MFA policy, the one-time code, the doctor
and the audit trail. Every refusal goes to the app's error page with its reason and into
the doctor: under the IdP once the sign-in's state named it, as the IdP's own (`signed`)
once the refusal concerns what the IdP sent over the back channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from staffroom.core.context import RequestContext
from staffroom.core.errors import Invalid
from staffroom.core.runtime import Runtime
from staffroom.sso import saml
from staffroom.sso.oidc import binding, flow
from staffroom.sso.oidc.binding import BrowserBinding
from staffroom.sso.oidc.claims import OidcAssertion
from staffroom.sso.oidc.config import OidcIdp, redirect_uri
from staffroom.sso.oidc.errors import Rejected
from staffroom.sso.service import pipeline
from staffroom.sso.service.idps import org_and_idps
from staffroom.sso.service.oidc_idps import oidc_config, providers

# The callback's parameters we read (RFC 6749 §4.1.2, RFC 9207's iss), nothing else.
PARAMS = ("code", "state", "error", "error_description", "iss")


@dataclass(frozen=True)
class Finished:
    """Where the browser goes after the callback, and the binding cookie to clear."""

    url: str
    clear_cookie: str | None
    cookie_path: str


async def begin(
    rt: Runtime,
    org: dict[str, Any],
    idp: dict[str, Any],
    purpose: str,
    next_url: str = "",
    link_user: uuid.UUID | None = None,
) -> tuple[str, BrowserBinding]:
    """(The IdP's URL, the cookie binding the sign-in to this browser) for a login or link.

    An IdP that cannot be used (its discovery document unreachable or wrong) is a 422
    naming the doctor's reason, as SAML's start refuses an IdP it cannot build a request for.
    """
    try:
        started = await flow.begin(
            rt.keys,
            providers(rt),
            oidc_config(rt, org["slug"], idp),
            purpose=purpose,
            next_url=next_url,
            link_user=link_user,
        )
    except Rejected as rejected:
        raise Invalid(f"oidc_{rejected.reason}", rejected.detail or "") from None
    return started.url, started.cookie


async def callback(
    rt: Runtime,
    org_slug: str,
    query: Mapping[str, str],
    cookies: Mapping[str, str],
    ctx: RequestContext,
) -> Finished:
    """Complete a sign-in: the app with a one-time code, or its error page with the reason."""
    org, enabled = await org_and_idps(org_slug)
    rows = {i["id"]: i for i in enabled if i["kind"] == "oidc"}
    params = {k: query[k] for k in PARAMS if k in query}
    state = params.get("state") or ""
    path = urlsplit(redirect_uri(rt.settings.public_url, org["slug"])).path
    clear = binding.cookie_name(rt.keys, state) if 0 < len(state) <= 256 else None

    async def idp_for(idp_id: uuid.UUID) -> OidcIdp:
        row = rows.get(idp_id)
        if row is None:
            raise Rejected("idp_not_ready", "This identity provider is gone or disabled.")
        return oidc_config(rt, org["slug"], row)

    idp: dict[str, Any] | None = None
    assertion: OidcAssertion | None = None
    try:
        done = await flow.complete(rt.keys, providers(rt), org["id"], params, cookies, idp_for)
        idp, assertion = rows[done.state.idp_id], done.assertion
        pipeline.check_lengths(assertion)
        await pipeline.refuse_replay(idp["id"], assertion)
        linking = done.state.link_user if done.state.purpose == "link" else None
        user = await pipeline.user_for(rt, org, idp, assertion, linking)
    except (Rejected, saml.Rejected) as rejected:
        await _record_refusal(rt, ctx, org, rows, idp, assertion, rejected)
        return Finished(pipeline.error_redirect(rt, rejected.reason), clear, path)
    code = await pipeline.issue_code(rt, org, idp, assertion, user)
    await pipeline.record_success(rt, ctx, org, idp, assertion, user)
    return Finished(pipeline.success_redirect(rt, done.state.next_url or "/", code), clear, path)


async def _record_refusal(
    rt: Runtime,
    ctx: RequestContext,
    org: dict[str, Any],
    rows: dict[uuid.UUID, dict[str, Any]],
    idp: dict[str, Any] | None,
    assertion: OidcAssertion | None,
    rejected: Rejected | saml.Rejected,
) -> None:
    """File the refusal under its IdP where known: after a valid ID token (the pipeline's
    refusals), or when the refusal concerns the IdP's own answer, as the IdP's attempt;
    what any browser can send (state, cookie, parameters) apart, as SAML's unsigned ones."""
    if idp is None and isinstance(rejected, Rejected) and rejected.idp_id is not None:
        idp = rows.get(rejected.idp_id)
    signed = assertion is not None or (isinstance(rejected, Rejected) and rejected.from_idp)
    await pipeline.record_refusal(rt, ctx, org, idp, rejected, signed=signed, assertion=assertion)
