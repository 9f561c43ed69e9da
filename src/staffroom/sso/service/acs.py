"""The SAML Assertion Consumer Service: an IdP's response becomes a one-time sign-in code.

`acs` reads as its steps, each named for what it checks (the shape of Zulip's SAML
backend): open the envelope, find the issuing IdP, find the login the response answers,
validate the assertion, check its identifiers' lengths, refuse a replay, use up the login,
find (or link, or provision) the user; then issue the code. Any refusal is a
`saml.Rejected` with its reason: the browser goes to the app's error page with it, and
the SSO doctor and the audit trail record it, as they record a success.

SECURITY.md rule 8: the AuthnRequest ID is consumed once (RelayState is an opaque state
id), unsolicited responses only where the IdP allows them, assertion IDs cached against
replay, identity by (org, IdP, NameID), the code only in a URL's fragment.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from staffroom.accounts.service.lookups import user_in_org
from staffroom.core import audit, clock, realtime
from staffroom.core.context import RequestContext
from staffroom.core.db.engine import unique_or
from staffroom.core.errors import Invalid
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token
from staffroom.sso import saml
from staffroom.sso.presets import MFA_CONTEXTS
from staffroom.sso.service import doctor, provisioning, testing
from staffroom.sso.service.idps import idp_config, org_and_idps, sp_config
from staffroom.sso.tables import SamlLoginState, SeenAssertion, SsoCode, SsoIdentity

# Assertions are remembered past their NotOnOrAfter by python3-saml's clock drift allowance.
REPLAY_MARGIN = timedelta(seconds=300)
# The columns' own limits: longer identifiers are refused, never stored truncated.
NAME_ID_MAX: int = SsoIdentity.name_id.length or 500
ASSERTION_ID_MAX: int = SeenAssertion.assertion_id.length or 200


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
        idps = await testing.with_tested_idp(org["id"], idps, test)
    # What is known of the response so far, for the doctor when it is refused.
    idp: dict[str, Any] | None = None
    envelope: saml.Envelope | None = None
    assertion: saml.Assertion | None = None
    try:
        envelope = await _open_envelope(rt, saml_response)
        idp = _issuing_idp(idps, envelope)
        state = _login_answered(state, idp, envelope)
        assertion = await _validated_assertion(rt, org, idp, envelope, state)
        _check_lengths(assertion)
        await _refuse_replay(idp["id"], assertion)
        await _use_up(state)
        if test is not None:
            tried = await testing.dry_run(org["id"], idp, assertion)
            return await testing.passed(rt, org["id"], idp, assertion, tried, test, ctx)
        user = await _user_for(rt, org, idp, assertion, state)
    except saml.Rejected as rejected:
        await _record_refusal(rt, ctx, org, idps, idp, envelope, assertion, rejected, test)
        if test is not None:
            return testing.test_page(rt, test["id"])
        return _error_redirect(rt, rejected.reason)
    code = await _issue_code(rt, org, idp, assertion, user)
    await _record_success(rt, ctx, org, idp, assertion, user)
    return _success_redirect(rt, state["next_url"] if state else "/", code)


async def _open_envelope(rt: Runtime, saml_response: str) -> saml.Envelope:
    """Size, base64, no DTD, plain transforms: the response's (unverified) Issuer."""
    return await asyncio.to_thread(
        saml.open_envelope, saml_response, rt.settings.saml_max_response_bytes
    )


def _issuing_idp(idps: list[dict[str, Any]], envelope: saml.Envelope) -> dict[str, Any]:
    """The org's enabled IdP the response names as its issuer. Not trusted yet: it only
    says whose keys and settings the validation uses."""
    idp = next((i for i in idps if i["entity_id"] == envelope.issuer), None)
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


def _check_lengths(assertion: saml.Assertion) -> None:
    """Refuse identifiers longer than their columns before any write: stored truncated, a
    NameID could name someone else, and PostgreSQL refuses them with an error (a 500)."""
    if len(assertion.name_id) > NAME_ID_MAX:
        raise saml.Rejected(
            "name_id_too_long",
            f"The NameID has {len(assertion.name_id)} characters; "
            f"at most {NAME_ID_MAX} are accepted.",
        )
    if len(assertion.assertion_id) > ASSERTION_ID_MAX:
        raise saml.Rejected(
            "assertion_id_too_long",
            f"The assertion ID has {len(assertion.assertion_id)} characters; "
            f"at most {ASSERTION_ID_MAX} are accepted.",
        )


async def _refuse_replay(idp_id: uuid.UUID, assertion: saml.Assertion) -> None:
    """Remember the assertion's ID until it expires; one seen before is a replay."""
    keep_until = (assertion.not_on_or_after or clock.utcnow() + timedelta(hours=1)) + REPLAY_MARGIN
    with unique_or(saml.Rejected("replay", "This assertion has already been used.")):
        await SeenAssertion.insert(
            SeenAssertion(
                id=uuid.uuid4(),
                idp=idp_id,
                assertion_id=assertion.assertion_id,
                keep_until=keep_until,
            )
        )
    await SeenAssertion.delete().where(SeenAssertion.keep_until < clock.utcnow())


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


async def _user_for(
    rt: Runtime,
    org: dict[str, Any],
    idp: dict[str, Any],
    assertion: saml.Assertion,
    state: dict[str, Any] | None,
) -> dict[str, Any]:
    """The account the identity is linked to; linked now when the login was started to
    link it, provisioned (JIT) where the IdP allows it. Never linked by email alone."""
    profile = provisioning.map_attributes(idp, assertion.attributes)
    outcome = provisioning.apply_rules(idp, profile)
    user = await provisioning.identity_user(org["id"], idp["id"], assertion.name_id)
    if state is not None and state["purpose"] == "link":
        if user is not None and user["id"] != state["link_user"]:
            raise saml.Rejected(
                "identity_linked_elsewhere", "This IdP identity belongs to another account."
            )
        if user is None:
            await provisioning.link(org["id"], idp["id"], assertion.name_id, state["link_user"])
            user = await user_in_org(org["id"], state["link_user"])
    elif user is None:
        if not idp["jit"]:
            raise saml.Rejected("unknown_user", "No account is linked to this IdP identity.")
        user = await provisioning.jit_user(org["id"], idp, assertion.name_id, profile, outcome.role)
    if user["status"] != "active":
        raise saml.Rejected("user_inactive", "This account is deactivated.")
    if await provisioning.sync(user, outcome):
        # Their role or groups changed: open sockets re-check, workers forget the person.
        await realtime.announce_topics_changed(rt.relay, org["id"], [user["id"]])
    await SsoIdentity.update({SsoIdentity.last_login_at: clock.utcnow()}).where(
        (SsoIdentity.idp == idp["id"]) & (SsoIdentity.name_id == assertion.name_id)
    )
    return await user_in_org(org["id"], user["id"])


async def _issue_code(
    rt: Runtime,
    org: dict[str, Any],
    idp: dict[str, Any],
    assertion: saml.Assertion,
    user: dict[str, Any],
) -> str:
    """The one-time code the app exchanges for tokens (`login.exchange`)."""
    code, now = new_token(), clock.utcnow()
    await SsoCode.insert(
        SsoCode(
            id=uuid.uuid4(),
            org=org["id"],
            user=user["id"],
            idp=idp["id"],
            code_hash=rt.keys.digest(code, purpose="sso_code"),
            mfa_satisfied=idp["enforces_mfa"]
            or any(c in MFA_CONTEXTS for c in assertion.authn_contexts),
            name_id=assertion.name_id,
            session_index=assertion.session_index[:200],
            expires_at=now + timedelta(seconds=rt.settings.sso_code_ttl),
            created_at=now,
        )
    )
    return code


async def _record_success(
    rt: Runtime,
    ctx: RequestContext,
    org: dict[str, Any],
    idp: dict[str, Any],
    assertion: saml.Assertion,
    user: dict[str, Any],
) -> None:
    await doctor.record(
        rt,
        org["id"],
        idp,
        outcome="success",
        name_id=assertion.name_id,
        attributes=assertion.attributes,
        user_id=user["id"],
    )
    await audit.record(
        "auth.sso",
        ctx=ctx,
        org_id=org["id"],
        actor_id=user["id"],
        target_type="idp",
        target_id=idp["id"],
    )


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
    await doctor.record(
        rt,
        org["id"],
        idp,
        outcome="failure",
        signed=signed,
        reason=rejected.reason,
        detail=rejected.detail,
        skew_seconds=rejected.skew_seconds,
        name_id=assertion.name_id if assertion else "",
        attributes=assertion.attributes if assertion else None,
        test_id=test["id"] if test else None,
    )
    await audit.record(
        "sso.test" if test else "auth.sso",
        outcome="failure",
        ctx=ctx,
        org_id=org["id"],
        actor_id=test["link_user"] if test else None,
        target_type="idp" if idp else None,
        target_id=idp["id"] if idp else None,
        details={"reason": rejected.reason},
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
        idp = next((i for i in idps if i["entity_id"] == rejected.issuer), None)
    if idp is None or envelope is None:
        return idp, False
    if assertion is not None:
        return idp, True
    return idp, await asyncio.to_thread(saml.signed_by_idp, idp_config(idp), envelope)


def _error_redirect(rt: Runtime, reason: str) -> str:
    return f"{rt.settings.effective_app_url}/sso/error#reason={quote(reason)}"


def _success_redirect(rt: Runtime, next_url: str, code: str) -> str:
    # The code travels in the fragment: it never reaches a server log on the way.
    if next_url.startswith("/"):
        return f"{rt.settings.effective_app_url}/sso/callback#code={code}&next={quote(next_url)}"
    return f"{next_url}#code={code}"
