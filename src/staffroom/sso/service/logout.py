"""Single Logout: ending Staffroom sessions with the SAML session, in both directions."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from staffroom.accounts.service import auth, sessions
from staffroom.accounts.service.lookups import org_row
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Invalid
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token
from staffroom.sso import saml
from staffroom.sso.schemas import RedirectOut
from staffroom.sso.service.idps import idp_config, org_and_idps, sp_config
from staffroom.sso.service.login import STATE_TTL
from staffroom.sso.tables import IdentityProvider, SamlLoginState, SsoSession


async def sp_logout(rt: Runtime, principal: Principal, ctx: RequestContext) -> RedirectOut:
    """End the caller's session; for an SSO session, where to end it at the IdP too."""
    link = None
    if principal.session_id is not None:
        link = (
            await SsoSession.select().where(SsoSession.auth_session == principal.session_id).first()
        )
    await auth.logout(rt, principal, ctx)
    if link is None:
        return RedirectOut(redirect_url="")
    idp = (
        await IdentityProvider.select()
        .where(IdentityProvider.id == link["idp"])
        .output(load_json=True)
        .first()
    )
    if idp is None or not idp["slo_url"]:
        return RedirectOut(redirect_url="")
    org_slug = str((await org_row(principal.org_id))["slug"])
    state = new_token()
    url, request_id = await asyncio.to_thread(
        saml.logout_url,
        sp_config(rt, org_slug),
        idp_config(idp),
        link["name_id"],
        link["session_index"],
        state,
    )
    now = clock.utcnow()
    await SamlLoginState.insert(
        SamlLoginState(
            id=uuid.uuid4(),
            org=principal.org_id,
            idp=idp["id"],
            purpose="logout",
            state_hash=rt.keys.digest(state, purpose="saml_state"),
            request_id=request_id,
            expires_at=now + STATE_TTL,
            created_at=now,
        )
    )
    return RedirectOut(redirect_url=url)


async def sls(rt: Runtime, org_slug: str, get_data: dict[str, str], ctx: RequestContext) -> str:
    """The IdP's side of Single Logout; returns where the browser goes next."""
    org, idps = await org_and_idps(org_slug)
    sp = sp_config(rt, org["slug"])
    signed_out = f"{rt.settings.effective_app_url}/signed-out"
    try:
        if "SAMLResponse" in get_data:
            state = await _logout_state(rt, org["id"], get_data.get("RelayState"))
            idp = next((i for i in idps if i["id"] == state["idp"]), None)
            if idp is None:
                raise saml.Rejected("invalid_logout", "The IdP of this logout is gone.")
            await asyncio.to_thread(
                saml.process_logout, sp, idp_config(idp), get_data, state["request_id"]
            )
            await SamlLoginState.update({SamlLoginState.used_at: clock.utcnow()}).where(
                SamlLoginState.id == state["id"]
            )
            return signed_out
        if "SAMLRequest" in get_data:
            issuer = await asyncio.to_thread(saml.logout_issuer, get_data["SAMLRequest"])
            idp = next((i for i in idps if i["entity_id"] == issuer), None)
            if idp is None:
                raise saml.Rejected("unknown_issuer", "No enabled IdP of this org sent this.")
            result = await asyncio.to_thread(
                saml.process_logout, sp, idp_config(idp), get_data, None
            )
            ended = await _end_sessions(rt, idp, result)
            await audit.record(
                "auth.sso_logout",
                ctx=ctx,
                org_id=org["id"],
                target_type="idp",
                target_id=idp["id"],
                details={"sessions_revoked": ended},
            )
            return result.redirect_url or signed_out
    except saml.Rejected as rejected:
        raise Invalid(
            rejected.reason, rejected.detail or "The logout message is not valid."
        ) from None
    raise Invalid("invalid_logout", "Send a SAMLRequest or SAMLResponse (Redirect binding).")


async def _logout_state(rt: Runtime, org_id: uuid.UUID, relay_state: str | None) -> dict[str, Any]:
    row = None
    if relay_state and len(relay_state) <= 256:
        row = (
            await SamlLoginState.select()
            .where(
                (SamlLoginState.state_hash == rt.keys.digest(relay_state, purpose="saml_state"))
                & (SamlLoginState.org == org_id)
                & (SamlLoginState.purpose == "logout")
                & SamlLoginState.used_at.is_null()
            )
            .first()
        )
    if row is None:
        raise saml.Rejected("invalid_logout", "No logout was started here for this response.")
    return dict(row)


async def _end_sessions(rt: Runtime, idp: dict[str, Any], result: saml.LogoutResult) -> int:
    """Revoke the Staffroom sessions of that NameID (and SessionIndex, when given)."""
    where = (SsoSession.idp == idp["id"]) & (SsoSession.name_id == result.name_id)
    if result.session_indexes:
        where = where & SsoSession.session_index.is_in(result.session_indexes)
    links = await SsoSession.select(SsoSession.auth_session).where(where)
    for link in links:
        await sessions.revoke(rt, link["auth_session"], "sso_logout")
    return len(links)
