"""The login pipeline after a protocol has validated an assertion: SAML's ACS (`acs.py`)
and OIDC's callback (`oidc_login.py`) both end here, so everything past the protocol is
one code path: identifier lengths, the replay cache, the account (linked identity, link on
request, JIT under the domain policy, never by email alone), group rules, the IdP-MFA
policy, the one-time code for the app, the doctor and the audit trail.

An assertion is either protocol's (`saml.Assertion`, `OidcAssertion`: the same fields).
The pipeline's own refusals are `saml.Rejected` (provisioning raises the same), an OIDC
assertion's facts `oidc.errors.Rejected`; both carry the doctor's reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

from staffroom.accounts.service.lookups import user_in_org
from staffroom.core import audit, clock, realtime
from staffroom.core.context import RequestContext
from staffroom.core.db.engine import unique_or
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token
from staffroom.sso import saml
from staffroom.sso.oidc.claims import MFA_CONTEXTS as OIDC_MFA_CONTEXTS
from staffroom.sso.oidc.claims import OidcAssertion
from staffroom.sso.presets import MFA_CONTEXTS
from staffroom.sso.service import doctor, provisioning
from staffroom.sso.tables import SeenAssertion, SsoCode, SsoIdentity

# Assertions are remembered past their NotOnOrAfter by python3-saml's clock drift allowance.
REPLAY_MARGIN = timedelta(seconds=300)
# The columns' own limits: longer identifiers are refused, never stored truncated.
NAME_ID_MAX: int = SsoIdentity.name_id.length or 500
ASSERTION_ID_MAX: int = SeenAssertion.assertion_id.length or 200


class Assertion(Protocol):
    """What either protocol's validated assertion says (saml.Assertion's fields)."""

    name_id: str
    session_index: str
    attributes: dict[str, list[str]]
    assertion_id: str
    not_on_or_after: datetime | None
    authn_contexts: list[str]


def check_lengths(assertion: Assertion) -> None:
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


async def refuse_replay(idp_id: uuid.UUID, assertion: Assertion) -> None:
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


async def user_for(
    rt: Runtime,
    org: dict[str, Any],
    idp: dict[str, Any],
    assertion: Assertion,
    link_user: uuid.UUID | None,
) -> dict[str, Any]:
    """The account the identity is linked to; linked now to `link_user` when the login was
    started to link it, provisioned (JIT) where the IdP allows it. Never linked by email
    alone; an OIDC email the IdP does not vouch for (`email_verified`) provisions nothing."""
    if isinstance(assertion, OidcAssertion) and idp["group_rules"]:
        assertion.require_groups()
    profile = provisioning.map_attributes(idp, assertion.attributes)
    outcome = provisioning.apply_rules(idp, profile)
    user = await provisioning.identity_user(org["id"], idp["id"], assertion.name_id)
    if link_user is not None:
        if user is not None and user["id"] != link_user:
            raise saml.Rejected(
                "identity_linked_elsewhere", "This IdP identity belongs to another account."
            )
        if user is None:
            await provisioning.link(org["id"], idp["id"], assertion.name_id, link_user)
            user = await user_in_org(org["id"], link_user)
    elif user is None:
        if not idp["jit"]:
            raise saml.Rejected("unknown_user", "No account is linked to this IdP identity.")
        if isinstance(assertion, OidcAssertion):
            assertion.require_verified_email()
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


def idp_did_mfa(idp: dict[str, Any], assertion: Assertion) -> bool:
    """The IdP-MFA policy: the IdP always does MFA, or this assertion says it did
    (SAML AuthnContextClassRefs; OIDC `amr`/`acr`)."""
    known = OIDC_MFA_CONTEXTS if idp["kind"] == "oidc" else MFA_CONTEXTS
    return bool(idp["enforces_mfa"]) or any(c in known for c in assertion.authn_contexts)


async def issue_code(
    rt: Runtime,
    org: dict[str, Any],
    idp: dict[str, Any],
    assertion: Assertion,
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
            mfa_satisfied=idp_did_mfa(idp, assertion),
            name_id=assertion.name_id,
            session_index=assertion.session_index[:200],
            expires_at=now + timedelta(seconds=rt.settings.sso_code_ttl),
            created_at=now,
        )
    )
    return code


async def record_success(
    rt: Runtime,
    ctx: RequestContext,
    org: dict[str, Any],
    idp: dict[str, Any],
    assertion: Assertion,
    user: dict[str, Any],
) -> None:
    """The doctor's attempt and the audit event of a sign-in."""
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


async def record_refusal(
    rt: Runtime,
    ctx: RequestContext,
    org: dict[str, Any],
    idp: dict[str, Any] | None,
    rejected: saml.Rejected | Any,
    *,
    signed: bool,
    assertion: Assertion | None = None,
    test: dict[str, Any] | None = None,
) -> None:
    """The doctor's attempt and the audit event of a refused sign-in, with its reason."""
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


def error_redirect(rt: Runtime, reason: str) -> str:
    """The app's error page, naming the reason."""
    return f"{rt.settings.effective_app_url}/sso/error#reason={quote(reason)}"


def success_redirect(rt: Runtime, next_url: str, code: str) -> str:
    """The app (or an allow-listed deep link) with the one-time code."""
    # The code travels in the fragment: it never reaches a server log on the way.
    if next_url.startswith("/"):
        return f"{rt.settings.effective_app_url}/sso/callback#code={code}&next={quote(next_url)}"
    return f"{next_url}#code={code}"
