"""The SAML Assertion Consumer Service: an IdP's response becomes a one-time sign-in code.

`acs` reads as its steps, each named for what it checks (the shape of Zulip's SAML
backend): open the envelope, find the issuing IdP, find the login the response answers,
validate the assertion, check its identifiers' lengths, refuse a replay, use up the login,
find (or link, or provision) the user; then issue the code. The steps after validation
are the login pipeline's (`pipeline.py`), which OIDC's callback shares. Any refusal is a
`saml.Rejected` with its reason: the browser goes to the app's error page with it, and
the SSO doctor and the audit trail record it, as they record a success.

SECURITY.md rule 8: the AuthnRequest ID is consumed once (RelayState is an opaque state
id), unsolicited responses only where the IdP allows them, assertion IDs cached against
replay, identity by (org, IdP, NameID), the code only in a URL's fragment.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from staffroom.core import clock
from staffroom.core.context import RequestContext
from staffroom.core.errors import Invalid
from staffroom.core.runtime import Runtime
from staffroom.sso import saml
from staffroom.sso.service import pipeline, testing
from staffroom.sso.service.idps import idp_config, org_and_idps, sp_config
from staffroom.sso.tables import SamlLoginState


async def acs(
    rt: Runtime,
    org_slug: str,
    saml_response: str | None,
    relay_state: str | None,
    ctx: RequestContext,
) -> str:
    """Validate a SAML response; the browser goes to the app with a one-time code, or to
    the app's error page with the reason. Every attempt is in the SSO doctor."""
    org, idps = await org_and_idps(org_slug)
    if not saml_response:
        raise Invalid("missing_saml_response", "POST a SAMLResponse form field.")
    state = await _state_for(rt, org["id"], relay_state)
    # An admin's test sign-in: checked like a login, nobody signed in (service/testing.py).
    test = state if state is not None and state["purpose"] == testing.PURPOSE else None
    if test is not None:
        idps = await testing.with_tested_idp(org["id"], idps, test["idp"])
    # What is known of the response so far, for the doctor when it is refused.
    idp: dict[str, Any] | None = None
    envelope: saml.Envelope | None = None
    assertion: saml.Assertion | None = None
    try:
        envelope = await _open_envelope(rt, saml_response)
        idp = _issuing_idp(idps, envelope)
        state = _login_answered(state, idp, envelope)
        assertion = await _validated_assertion(rt, org, idp, envelope, state)
        pipeline.check_lengths(assertion)
        await pipeline.refuse_replay(idp["id"], assertion)
        await _use_up(state)
        if test is not None:
            tried = await testing.dry_run(org["id"], idp, assertion)
            return await testing.passed(rt, org["id"], idp, assertion, tried, test, ctx)
        link_user = state["link_user"] if state and state["purpose"] == "link" else None
        user = await pipeline.user_for(rt, org, idp, assertion, link_user)
    except saml.Rejected as rejected:
        await _record_refusal(rt, ctx, org, idps, idp, envelope, assertion, rejected, test)
        if test is not None:
            return testing.test_page(rt, test["id"])
        return pipeline.error_redirect(rt, rejected.reason)
    code = await pipeline.issue_code(rt, org, idp, assertion, user)
    await pipeline.record_success(rt, ctx, org, idp, assertion, user)
    return pipeline.success_redirect(rt, state["next_url"] if state else "/", code)


async def _open_envelope(rt: Runtime, saml_response: str) -> saml.Envelope:
    """Size, base64, no DTD, plain transforms: the response's (unverified) Issuer."""
    return await asyncio.to_thread(
        saml.open_envelope, saml_response, rt.settings.saml_max_response_bytes
    )


def _issuing_idp(idps: list[dict[str, Any]], envelope: saml.Envelope) -> dict[str, Any]:
    """The org's enabled IdP the response names as its issuer. Not trusted yet: it only
    says whose keys and settings the validation uses."""
    idp = next((i for i in _saml(idps) if i["entity_id"] == envelope.issuer), None)
    if idp is None:
        raise saml.Rejected("unknown_issuer", f"No enabled IdP of this org is {envelope.issuer!r}.")
    return idp


def _login_answered(
    state: dict[str, Any] | None, idp: dict[str, Any], envelope: saml.Envelope
) -> dict[str, Any] | None:
    """The login started here that the response answers (`state`, found by its
    RelayState), or None for an IdP-initiated response from an IdP allowed to send them."""
    if state is None:
        if not idp["idp_initiated"] or envelope.in_response_to:
            raise saml.Rejected("unsolicited", "No login was started here for this response.")
        return None
    if state["idp"] != idp["id"]:
        raise saml.Rejected("issuer", "The response comes from another IdP than asked.")
    # python3-saml lets a response without InResponseTo through; we do not.
    if envelope.in_response_to != state["request_id"]:
        raise saml.Rejected("in_response_to", "The response answers another request.")
    return state


def _saml(idps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # An OpenID Connect IdP never answers here (its sign-ins end at oidc/callback).
    return [i for i in idps if i["kind"] == "saml"]


async def _state_for(
    rt: Runtime, org_id: uuid.UUID, relay_state: str | None
) -> dict[str, Any] | None:
    if not relay_state or len(relay_state) > 256:
        return None
    return (
        await SamlLoginState.select()
        .where(
            (SamlLoginState.state_hash == rt.keys.digest(relay_state, purpose="saml_state"))
            & (SamlLoginState.org == org_id)
            & (SamlLoginState.purpose != "logout")
        )
        .first()
    )


async def _validated_assertion(
    rt: Runtime,
    org: dict[str, Any],
    idp: dict[str, Any],
    envelope: saml.Envelope,
    state: dict[str, Any] | None,
) -> saml.Assertion:
    """Signatures, conditions, audience, destination and InResponseTo, strictly."""
    sp = sp_config(rt, org["slug"])
    request_id = state["request_id"] if state is not None else None
    return await asyncio.to_thread(
        saml.validate_response, sp, idp_config(idp), envelope, request_id
    )


async def _use_up(state: dict[str, Any] | None) -> None:
    """Mark the login used, once: a second response to it is refused."""
    if state is None:
        return
    used = (
        await SamlLoginState.update({SamlLoginState.used_at: clock.utcnow()})
        .where(
            (SamlLoginState.id == state["id"])
            & SamlLoginState.used_at.is_null()
            & (SamlLoginState.expires_at > clock.utcnow())
        )
        .returning(SamlLoginState.id)
    )
    if not used:
        raise saml.Rejected("state_used", "This login attempt was already completed or expired.")


async def _record_refusal(
    rt: Runtime,
    ctx: RequestContext,
    org: dict[str, Any],
    idps: list[dict[str, Any]],
    idp: dict[str, Any] | None,
    envelope: saml.Envelope | None,
    assertion: saml.Assertion | None,
    rejected: saml.Rejected,
    test: dict[str, Any] | None,
) -> None:
    idp, signed = await _whose(idps, idp, envelope, assertion, rejected)
    await pipeline.record_refusal(
        rt, ctx, org, idp, rejected, signed=signed, assertion=assertion, test=test
    )


async def _whose(
    idps: list[dict[str, Any]],
    idp: dict[str, Any] | None,
    envelope: saml.Envelope | None,
    assertion: saml.Assertion | None,
    rejected: saml.Rejected,
) -> tuple[dict[str, Any] | None, bool]:
    """The IdP a refused response names, and whether it carries that IdP's signature.

    A response refused while its envelope was being read still names an Issuer: filed
    under that IdP, not "unknown issuer", but unsigned (it never reached a signature
    check). One refused after validation is signed; one refused on the way (no login
    started, clock skew, audience …) is signed if the IdP's key verifies its signature,
    so an admin sees what the real IdP sends beside its successes, and anyone's posts
    apart from them.
    """
    if idp is None and rejected.issuer:
        idp = next((i for i in _saml(idps) if i["entity_id"] == rejected.issuer), None)
    if idp is None or envelope is None:
        return idp, False
    if assertion is not None:
        return idp, True
    return idp, await asyncio.to_thread(saml.signed_by_idp, idp_config(idp), envelope)
