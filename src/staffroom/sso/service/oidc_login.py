"""OpenID Connect sign-in of an org's IdP: starting it, and its callback.

The callback lets the protocol core (`sso/oidc/flow.py`) redeem the browser's sign-in and
validate the ID token, then hands the assertion to the same login pipeline as SAML's ACS
(`pipeline.py`): identity by (org, IdP, sub), JIT under the domain policy and only for an
email the IdP vouches for, group rules, the IdP-MFA policy, the one-time code, the doctor
and the audit trail. Every refusal goes to the app's error page with its reason and into
the doctor: under the IdP once the sign-in's state named it, as the IdP's own (`signed`)
once the refusal concerns what the IdP sent over the back channel.

A sign-in started as an admin's test (`testing.py`, purpose "test") is redeemed and
validated the same way, also with an IdP not enabled yet; then `testing.dry_run` says
what a sign-in would do, and the window goes to the console's test page, with nobody
signed in, created, linked or changed, the outcome (or refusal) filed under the test.
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
from staffroom.sso.oidc.binding import BrowserBinding, LoginState
from staffroom.sso.oidc.claims import OidcAssertion
from staffroom.sso.oidc.config import redirect_uri
from staffroom.sso.oidc.errors import Rejected
from staffroom.sso.service import pipeline, testing
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
    state_id: uuid.UUID | None = None,
) -> tuple[str, BrowserBinding]:
    """(The IdP's URL, the cookie binding the sign-in to this browser) for a login, a link
    or an admin's test sign-in (`state_id`: the test's id, which the console polls).

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
            state_id=state_id,
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
    """Complete a sign-in: the app with a one-time code, or its error page with the reason;
    for an admin's test sign-in, the console's test page (nobody signed in either way)."""
    org, enabled = await org_and_idps(org_slug)
    rows = {i["id"]: i for i in enabled if i["kind"] == "oidc"}
    params = {k: query[k] for k in PARAMS if k in query}
    state = params.get("state") or ""
    path = urlsplit(redirect_uri(rt.settings.public_url, org["slug"])).path
    clear = binding.cookie_name(rt.keys, state) if 0 < len(state) <= 256 else None

    idp: dict[str, Any] | None = None
    assertion: OidcAssertion | None = None
    test: dict[str, Any] | None = None
    try:
        redeemed = await binding.redeem(rt.keys, org["id"], params.get("state"), cookies)
        if redeemed.purpose == testing.PURPOSE:
            # The IdP under test may not be enabled yet (testing it comes first).
            test = {"id": redeemed.id, "link_user": redeemed.link_user}
            tested = await testing.with_tested_idp(org["id"], enabled, redeemed.idp_id)
            rows = {i["id"]: i for i in tested if i["kind"] == "oidc"}
        idp, assertion = await _validated(rt, org, rows, redeemed, params)
        pipeline.check_lengths(assertion)
        await pipeline.refuse_replay(idp["id"], assertion)
        if test is not None:
            tried = await testing.dry_run(org["id"], idp, assertion)
            done = await testing.passed(rt, org["id"], idp, assertion, tried, test, ctx)
            return Finished(done, clear, path)
        linking = redeemed.link_user if redeemed.purpose == "link" else None
        user = await pipeline.user_for(rt, org, idp, assertion, linking)
    except (Rejected, saml.Rejected) as rejected:
        await _record_refusal(rt, ctx, org, rows, idp, assertion, rejected, test)
        if test is not None:
            return Finished(testing.test_page(rt, test["id"]), clear, path)
        return Finished(pipeline.error_redirect(rt, rejected.reason), clear, path)
    code = await pipeline.issue_code(rt, org, idp, assertion, user)
    await pipeline.record_success(rt, ctx, org, idp, assertion, user)
    return Finished(pipeline.success_redirect(rt, redeemed.next_url or "/", code), clear, path)


async def _validated(
    rt: Runtime,
    org: dict[str, Any],
    rows: dict[uuid.UUID, dict[str, Any]],
    redeemed: LoginState,
    params: Mapping[str, str],
) -> tuple[dict[str, Any], OidcAssertion]:
    """The redeemed sign-in's IdP (enabled, or the one under test) and its validated
    assertion; a refusal names that IdP for the doctor."""
    try:
        row = rows.get(redeemed.idp_id)
        if row is None or row["kind"] != "oidc":
            raise Rejected("idp_not_ready", "This identity provider is gone or disabled.")
        config = oidc_config(rt, org["slug"], row)
        return row, await flow.finish(providers(rt), config, redeemed, params)
    except Rejected as rejected:
        rejected.idp_id = redeemed.idp_id
        raise


async def _record_refusal(
    rt: Runtime,
    ctx: RequestContext,
    org: dict[str, Any],
    rows: dict[uuid.UUID, dict[str, Any]],
    idp: dict[str, Any] | None,
    assertion: OidcAssertion | None,
    rejected: Rejected | saml.Rejected,
    test: dict[str, Any] | None = None,
) -> None:
    """File the refusal under its IdP where known: after a valid ID token (the pipeline's
    refusals), or when the refusal concerns the IdP's own answer, as the IdP's attempt;
    what any browser can send (state, cookie, parameters) apart, as SAML's unsigned ones."""
    if idp is None and isinstance(rejected, Rejected) and rejected.idp_id is not None:
        idp = rows.get(rejected.idp_id)
    if isinstance(rejected, Rejected) and idp is not None:
        named = rejected.issuer
        if named and named != idp["issuer"] and named not in rejected.detail:
            # A key or signature refusal of another IdP's token reads as this IdP's key
            # trouble unless the doctor says whose token it claims to be (unverified).
            rejected.detail = f"{rejected.detail} The token names another issuer: {named!r}."
    signed = assertion is not None or (isinstance(rejected, Rejected) and rejected.from_idp)
    await pipeline.record_refusal(
        rt, ctx, org, idp, rejected, signed=signed, assertion=assertion, test=test
    )
