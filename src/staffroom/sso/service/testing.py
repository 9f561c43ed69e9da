"""An admin's test sign-in and the mapping preview: SSO tried out before anyone depends on it.

A test is a real SP-initiated login (SAML: AuthnRequest, RelayState, the IdP's answer at
the ACS; OpenID Connect: the authorization request with PKCE, state and nonce, the code
exchanged and the ID token validated at the callback; every check a login makes) whose
state row has the purpose "test": the ACS or the callback then signs nobody in, creates
and changes nobody, and sends the window to the console's test page instead. The test's
id is its state row's (SAML's `SamlLoginState`, OIDC's `OidcLoginState`), and the doctor's
attempt that answers it carries it. The IdP may still be disabled, so an IdP is tried
before people see it at sign-in.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import msgspec
from msgspec import UNSET

from staffroom.accounts.service.lookups import org_row
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import NotFound
from staffroom.core.runtime import Runtime
from staffroom.sso import saml
from staffroom.sso.oidc import binding
from staffroom.sso.oidc.binding import BrowserBinding
from staffroom.sso.oidc.claims import OidcAssertion
from staffroom.sso.oidc.tables import OidcLoginState
from staffroom.sso.presets import FIELDS, field_names
from staffroom.sso.schemas import (
    FieldPreview,
    PreviewIn,
    PreviewOut,
    SsoTestResultOut,
    SsoTestStartOut,
)
from staffroom.sso.service import doctor, pipeline, provisioning
from staffroom.sso.service.idps import by_id, own
from staffroom.sso.tables import SamlLoginState

PURPOSE = "test"


async def start(
    rt: Runtime, principal: Principal, idp_id: uuid.UUID
) -> tuple[SsoTestStartOut, BrowserBinding | None]:
    """A test sign-in with one IdP of the caller's org (enabled or not); for an OpenID
    Connect IdP also the cookie binding it to the admin's browser (set it on the answer:
    the test's window, opened from the console, carries it back to the callback)."""
    # Imported here: both import this module for the ACS's and the callback's side.
    from staffroom.sso.service import login, oidc_login

    idp = await own(principal, idp_id)
    org = await org_row(principal.org_id)
    if idp["kind"] == "oidc":
        test_id = uuid.uuid4()
        url, cookie = await oidc_login.begin(
            rt, org, idp, PURPOSE, link_user=principal.user_id, state_id=test_id
        )
        expires_at = clock.utcnow() + binding.STATE_TTL
        return SsoTestStartOut(test_id=test_id, redirect_url=url, expires_at=expires_at), cookie
    url, test_id = await login.new_state(rt, org, idp, PURPOSE, link_user=principal.user_id)
    expires_at = clock.utcnow() + login.STATE_TTL
    return SsoTestStartOut(test_id=test_id, redirect_url=url, expires_at=expires_at), None


async def _state(principal: Principal, test_id: uuid.UUID) -> dict[str, Any]:
    """The test's state row, SAML's or OIDC's (both have idp and expires_at)."""
    for table in (SamlLoginState, OidcLoginState):
        row = (
            await table.select(table.idp, table.expires_at)
            .where(
                (table.id == test_id) & (table.org == principal.org_id) & (table.purpose == PURPOSE)
            )
            .first()
        )
        if row is not None:
            return row
    raise NotFound("sso_test_not_found", "No such test sign-in.")


async def result(principal: Principal, test_id: uuid.UUID) -> SsoTestResultOut:
    """How a test sign-in went: waiting for the IdP, done (the attempt), or expired."""
    state = await _state(principal, test_id)
    attempt = await doctor.of_test(principal.org_id, test_id)
    if attempt is not None:
        return SsoTestResultOut(status="done", idp_id=state["idp"], attempt=attempt)
    # The IdP's answer may still come a little after the state's expiry: it is refused
    # then (state_used), and that refusal is the result.
    expired = state["expires_at"] + timedelta(minutes=1) < clock.utcnow()
    return SsoTestResultOut(status="expired" if expired else "waiting", idp_id=state["idp"])


async def dry_run(
    org_id: uuid.UUID, idp: dict[str, Any], assertion: pipeline.Assertion
) -> tuple[str, uuid.UUID | None]:
    """What a real login with this assertion would do, changing nothing: (reason, user id)
    with reason would_sign_in or would_create_account; Rejected as the login would be
    (the pipeline's `user_for`, OIDC's own refusals included)."""
    if isinstance(assertion, OidcAssertion) and idp["group_rules"]:
        assertion.require_groups()
    profile = provisioning.map_attributes(idp, assertion.attributes)
    provisioning.apply_rules(idp, profile)
    user = await provisioning.identity_user(org_id, idp["id"], assertion.name_id)
    if user is None:
        if not idp["jit"]:
            raise saml.Rejected("unknown_user", "No account is linked to this IdP identity.")
        if isinstance(assertion, OidcAssertion):
            assertion.require_verified_email()
        await provisioning.jit_email(org_id, profile)
        return "would_create_account", None
    if user["status"] != "active":
        raise saml.Rejected("user_inactive", "This account is deactivated.")
    return "would_sign_in", user["id"]


async def with_tested_idp(
    org_id: uuid.UUID, idps: list[dict[str, Any]], idp_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The org's enabled IdPs and the one under test, which may not be enabled yet."""
    if any(i["id"] == idp_id for i in idps):
        return idps
    tested = await by_id(org_id, idp_id)
    return [*idps, tested] if tested else idps


async def passed(
    rt: Runtime,
    org_id: uuid.UUID,
    idp: dict[str, Any],
    assertion: pipeline.Assertion,
    tried: tuple[str, uuid.UUID | None],
    state: dict[str, Any],
    ctx: RequestContext,
) -> str:
    """A test sign-in the IdP answered and every check passed: logged for the doctor and
    the console (nobody signed in); the window goes to the console's test page."""
    reason, user_id = tried
    await doctor.record(
        rt,
        org_id,
        idp,
        outcome="success",
        reason=reason,
        name_id=assertion.name_id,
        attributes=assertion.attributes,
        user_id=user_id,
        test_id=state["id"],
    )
    await audit.record(
        "sso.test",
        ctx=ctx,
        org_id=org_id,
        actor_id=state["link_user"],
        target_type="idp",
        target_id=idp["id"],
        details={"result": reason},
    )
    return test_page(rt, state["id"])


def test_page(rt: Runtime, test_id: uuid.UUID) -> str:
    """Where the test's window goes from the ACS: the console shows the outcome there."""
    return f"{rt.settings.effective_app_url}/admin/sso/test#test={test_id}"


async def preview(principal: Principal, idp_id: uuid.UUID, data: PreviewIn) -> PreviewOut:
    """The mapping and rules (saved, or as being edited) applied to an attempt's attributes."""
    idp = dict(await own(principal, idp_id))
    if data.preset is not UNSET:
        idp["preset"] = data.preset
    if data.attribute_map is not UNSET:
        idp["attribute_map"] = msgspec.to_builtins(data.attribute_map)
    if data.group_rules is not UNSET:
        idp["group_rules"] = msgspec.to_builtins(data.group_rules)
    attempt = await doctor.with_attributes(principal.org_id, idp_id, data.attempt_id)
    if data.attempt_id is not None and attempt is None:
        raise NotFound("attempt_not_found", "No such attempt of this identity provider.")
    attributes = attempt.attributes if attempt else {}
    mapping = field_names(idp)
    fields = []
    for field in FIELDS:
        found = next((n for n in mapping[field] if attributes.get(n)), None)
        fields.append(
            FieldPreview(
                field=field,
                attribute=found,
                values=attributes[found] if found else [],
                looked_for=mapping[field],
            )
        )
    if attempt is None:
        return PreviewOut(attempt=None, fields=fields, outcome="no_attempt")
    try:
        outcome = provisioning.apply_rules(idp, provisioning.map_attributes(idp, attributes))
    except saml.Rejected as rejected:
        return PreviewOut(attempt=attempt, fields=fields, outcome="denied", reason=rejected.reason)
    return PreviewOut(
        attempt=attempt,
        fields=fields,
        outcome="allowed",
        group_ids=sorted(outcome.group_ids),
        # None: no rule gives a role (new accounts get the IdP's default role).
        role=outcome.role,
    )
