"""SAML login: start (SP-initiated), the ACS, the one-time code exchange, explicit linking.

SECURITY.md rule 8: the AuthnRequest ID is stored and consumed once (RelayState is an
opaque state id), unsolicited responses only where the org allows them, assertion IDs
cached against replay, identity by (org, IdP, NameID), tokens never in a URL.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from staffroom.accounts.schemas import MfaChallenge, SessionScope, TokenPair
from staffroom.accounts.service import auth, mfa, sessions
from staffroom.accounts.service.common import org_row, user_in_org
from staffroom.core import audit, clock, realtime
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db import is_unique_violation
from staffroom.core.errors import Invalid, NotFound, Unauthorized
from staffroom.core.ratelimit import Rule
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token
from staffroom.sso import saml
from staffroom.sso.presets import MFA_CONTEXTS
from staffroom.sso.service import doctor, provisioning
from staffroom.sso.service.idps import idp_config, org_and_idps, sp_config
from staffroom.sso.tables import (
    IdentityProvider,
    SamlLoginState,
    SeenAssertion,
    SsoCode,
    SsoIdentity,
    SsoSession,
)

STATE_TTL = timedelta(minutes=15)
# Assertions are remembered past their NotOnOrAfter by python3-saml's clock drift allowance.
REPLAY_MARGIN = timedelta(seconds=300)
_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}
# The columns' own limits: longer identifiers are refused, never stored truncated.
NAME_ID_MAX: int = SsoIdentity.name_id.length or 500
ASSERTION_ID_MAX: int = SeenAssertion.assertion_id.length or 200


def safe_next(rt: Runtime, next_url: str | None) -> str:
    """A relative path, or an absolute URL under the app URL or an allow-listed deep link."""
    if not next_url:
        return "/"
    if any(ch in _CONTROL for ch in next_url) or "\\" in next_url:
        raise Invalid("invalid_next", "This return address is not allowed.")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    allowed = [rt.settings.effective_app_url + "/", *rt.settings.sso_redirect_allowlist]
    # The one-time code is added as the fragment, so the target must not have one.
    if "#" not in next_url and any(next_url.startswith(p) for p in allowed if p):
        return next_url
    raise Invalid("invalid_next", "This return address is not allowed.")


def _digest(rt: Runtime, value: str, purpose: str) -> str:
    return rt.keys.digest(value, purpose=purpose)


def pick_idp(idps: list[dict[str, Any]], idp_id: str | None, email: str | None) -> dict[str, Any]:
    """The IdP asked for by id, else by the email's domain, else the only one."""
    if not idps:
        raise NotFound("sso_not_configured", "This organisation has no single sign-on.")
    if idp_id:
        for idp in idps:
            if str(idp["id"]) == idp_id:
                return idp
        raise NotFound("idp_not_found", "No such identity provider.")
    if email and "@" in email:
        domain = email.rsplit("@", 1)[1].strip().lower()
        for idp in idps:
            if domain in idp["email_domains"]:
                return idp
    if len(idps) == 1:
        return idps[0]
    raise Invalid("idp_choice_required", "Choose an identity provider (idp=…) or give an email.")


async def _new_state(
    rt: Runtime,
    org: dict[str, Any],
    idp: dict[str, Any],
    purpose: str,
    next_url: str = "",
    link_user: uuid.UUID | None = None,
) -> tuple[str, str]:
    """(IdP redirect URL, state) for a login or link; the request ID is kept server-side."""
    state = new_token()
    sp = sp_config(rt, org["slug"])
    try:
        url, request_id = await asyncio.to_thread(saml.login_url, sp, idp_config(idp), state)
    except saml.Rejected as rejected:
        raise Invalid(rejected.reason, rejected.detail or "") from None
    now = clock.utcnow()
    await SamlLoginState.insert(
        SamlLoginState(
            id=uuid.uuid4(),
            org=org["id"],
            idp=idp["id"],
            purpose=purpose,
            state_hash=_digest(rt, state, "saml_state"),
            request_id=request_id,
            next_url=next_url,
            link_user=link_user,
            expires_at=now + STATE_TTL,
            created_at=now,
        )
    )
    return url, state


async def start(
    rt: Runtime, org_slug: str, next_url: str | None, idp_id: str | None, email: str | None
) -> str:
    """SP-initiated login: where to send the browser."""
    target = safe_next(rt, next_url)
    org, idps = await org_and_idps(org_slug)
    idp = pick_idp(idps, idp_id, email)
    url, _ = await _new_state(rt, org, idp, "login", target)
    return url


async def start_link(rt: Runtime, principal: Principal, idp_id: uuid.UUID) -> str:
    """A signed-in user links an IdP identity to their account (no silent linking by email)."""
    org = await org_row(principal.org_id)
    _, enabled = await org_and_idps(org["slug"])
    idps = [i for i in enabled if i["id"] == idp_id]
    if not idps:
        raise NotFound("idp_not_found", "No such identity provider.")
    url, _ = await _new_state(rt, org, idps[0], "link", "/", principal.user_id)
    return url


def _error_redirect(rt: Runtime, reason: str) -> str:
    return f"{rt.settings.effective_app_url}/sso/error#reason={quote(reason)}"


def _success_redirect(rt: Runtime, next_url: str, code: str) -> str:
    # The code travels in the fragment: it never reaches a server log on the way.
    if next_url.startswith("/"):
        return f"{rt.settings.effective_app_url}/sso/callback#code={code}&next={quote(next_url)}"
    return f"{next_url}#code={code}"


async def _state_for(
    rt: Runtime, org_id: uuid.UUID, relay_state: str | None
) -> dict[str, Any] | None:
    if not relay_state or len(relay_state) > 256:
        return None
    return (
        await SamlLoginState.select()
        .where(
            (SamlLoginState.state_hash == _digest(rt, relay_state, "saml_state"))
            & (SamlLoginState.org == org_id)
            & (SamlLoginState.purpose != "logout")
        )
        .first()
    )


async def _remember_assertion(idp_id: uuid.UUID, assertion: saml.Assertion) -> None:
    keep_until = (assertion.not_on_or_after or clock.utcnow() + timedelta(hours=1)) + REPLAY_MARGIN
    try:
        await SeenAssertion.insert(
            SeenAssertion(
                id=uuid.uuid4(),
                idp=idp_id,
                assertion_id=assertion.assertion_id,
                keep_until=keep_until,
            )
        )
    except Exception as exc:
        if is_unique_violation(exc):
            raise saml.Rejected("replay", "This assertion has already been used.") from exc
        raise
    await SeenAssertion.delete().where(SeenAssertion.keep_until < clock.utcnow())


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


async def _consume_state(state: dict[str, Any]) -> None:
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
    idp: dict[str, Any] | None = None
    envelope: saml.Envelope | None = None
    assertion: saml.Assertion | None = None
    try:
        envelope = await asyncio.to_thread(
            saml.open_envelope, saml_response, rt.settings.saml_max_response_bytes
        )
        idp = next((i for i in idps if i["entity_id"] == envelope.issuer), None)
        if idp is None:
            raise saml.Rejected(
                "unknown_issuer", f"No enabled IdP of this org is {envelope.issuer!r}."
            )
        state = await _state_for(rt, org["id"], relay_state)
        if state is None:
            if not idp["idp_initiated"] or envelope.in_response_to:
                raise saml.Rejected("unsolicited", "No login was started here for this response.")
            request_id = None
        else:
            if state["idp"] != idp["id"]:
                raise saml.Rejected("issuer", "The response comes from another IdP than asked.")
            request_id = state["request_id"]
            # python3-saml lets a response without InResponseTo through; we do not.
            if envelope.in_response_to != request_id:
                raise saml.Rejected("in_response_to", "The response answers another request.")
        sp = sp_config(rt, org["slug"])
        assertion = await asyncio.to_thread(
            saml.validate_response, sp, idp_config(idp), envelope, request_id
        )
        _check_lengths(assertion)
        await _remember_assertion(idp["id"], assertion)
        if state is not None:
            await _consume_state(state)
        user = await _user_for(rt, org, idp, assertion, state)
    except saml.Rejected as rejected:
        idp, signed = await _whose(idps, idp, envelope, assertion, rejected)
        await doctor.record(
            rt.limiter,
            org["id"],
            idp,
            outcome="failure",
            signed=signed,
            reason=rejected.reason,
            detail=rejected.detail,
            skew_seconds=rejected.skew_seconds,
            name_id=assertion.name_id if assertion else "",
            attributes=assertion.attributes if assertion else None,
        )
        await audit.record(
            "auth.sso",
            outcome="failure",
            ctx=ctx,
            org_id=org["id"],
            target_type="idp" if idp else None,
            target_id=idp["id"] if idp else None,
            details={"reason": rejected.reason},
        )
        return _error_redirect(rt, rejected.reason)
    code = await _issue_code(rt, org, idp, assertion, user)
    await doctor.record(
        rt.limiter,
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
    return _success_redirect(rt, state["next_url"] if state else "/", code)


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


async def _user_for(
    rt: Runtime,
    org: dict[str, Any],
    idp: dict[str, Any],
    assertion: saml.Assertion,
    state: dict[str, Any] | None,
) -> dict[str, Any]:
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
    code, now = new_token(), clock.utcnow()
    await SsoCode.insert(
        SsoCode(
            id=uuid.uuid4(),
            org=org["id"],
            user=user["id"],
            idp=idp["id"],
            code_hash=_digest(rt, code, "sso_code"),
            mfa_satisfied=idp["enforces_mfa"]
            or any(c in MFA_CONTEXTS for c in assertion.authn_contexts),
            name_id=assertion.name_id,
            session_index=assertion.session_index[:200],
            expires_at=now + timedelta(seconds=rt.settings.sso_code_ttl),
            created_at=now,
        )
    )
    return code


async def exchange(rt: Runtime, code: str, ctx: RequestContext) -> TokenPair | MfaChallenge:
    """Turn the ACS's one-time code into tokens (or a TOTP step when MFA is still owed)."""
    s = rt.settings
    key, rule = f"sso_exchange:ip:{ctx.ip}", Rule(s.login_fail_limit_ip, s.login_fail_window)
    await rt.limiter.check(key, rule)
    invalid = Unauthorized("invalid_code", "This sign-in code is not valid or has expired.")
    now = clock.utcnow()
    row = await SsoCode.select().where(SsoCode.code_hash == _digest(rt, code, "sso_code")).first()
    used = (
        await SsoCode.update({SsoCode.used_at: now})
        .where((SsoCode.id == row["id"]) & SsoCode.used_at.is_null() & (SsoCode.expires_at > now))
        .returning(SsoCode.id)
        if row
        else []
    )
    if row is None or not used:
        await rt.limiter.hit(key, rule)
        raise invalid
    user = await user_in_org(row["org"], row["user"])
    if user["status"] != "active":
        raise invalid
    org = await org_row(row["org"])
    has_factor = await mfa.has_confirmed_factor(user["id"])
    if not row["mfa_satisfied"] and has_factor:
        return await auth.mfa_challenge(rt, user)
    scope: SessionScope = "enrol" if org["require_mfa"] and not row["mfa_satisfied"] else "full"
    session_id = uuid.uuid4()
    pair = await sessions.issue(
        rt, user, ctx, scope=scope, mfa=row["mfa_satisfied"], session_id=session_id
    )
    await SsoSession.insert(
        SsoSession(
            id=uuid.uuid4(),
            org=row["org"],
            idp=row["idp"],
            name_id=row["name_id"],
            session_index=row["session_index"],
            auth_session=session_id,
            created_at=now,
        )
    )
    await audit.record(
        "auth.sso_exchange",
        ctx=ctx,
        org_id=row["org"],
        actor_id=user["id"],
        target_type="user",
        target_id=user["id"],
        details={"scope": scope, "mfa": row["mfa_satisfied"]},
    )
    return pair


async def has_sso(org_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Discovery: which of these orgs sign in with SAML."""
    rows = (
        await IdentityProvider.select(IdentityProvider.org).where(
            IdentityProvider.org.is_in(org_ids) & (IdentityProvider.enabled == True)  # noqa: E712
        )
        if org_ids
        else []
    )
    return {r["org"]: ["saml"] for r in rows}
