"""SSO login around SAML's ACS (`acs.py`) and OIDC's callback (`oidc_login.py`): starting
it (SP-initiated, or to link an identity; an OIDC IdP's start goes to `oidc_login.begin`),
exchanging the one-time code for tokens, and telling discovery who signs in with SSO.

SECURITY.md rule 8: the AuthnRequest ID is stored server-side under an opaque RelayState
and consumed once by the ACS; tokens never travel in a URL.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from staffroom.accounts.schemas import MfaChallenge, SessionScope, TokenPair
from staffroom.accounts.service import auth, mfa, sessions
from staffroom.accounts.service.lookups import org_row, user_in_org
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Invalid, NotFound, Unauthorized
from staffroom.core.limits import SSO_EXCHANGE_IP
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token
from staffroom.sso import saml
from staffroom.sso.oidc.binding import BrowserBinding
from staffroom.sso.service import oidc_login
from staffroom.sso.service.idps import idp_config, org_and_idps, sp_config
from staffroom.sso.tables import (
    IdentityProvider,
    SamlLoginState,
    SsoCode,
    SsoSession,
)

STATE_TTL = timedelta(minutes=15)
_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


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


async def new_state(
    rt: Runtime,
    org: dict[str, Any],
    idp: dict[str, Any],
    purpose: str,
    next_url: str = "",
    link_user: uuid.UUID | None = None,
) -> tuple[str, uuid.UUID]:
    """(IdP redirect URL, state row id) for a login, link or test; the request ID is kept
    server-side, the state itself travels only as the URL's RelayState."""
    state = new_token()
    sp = sp_config(rt, org["slug"])
    try:
        url, request_id = await asyncio.to_thread(saml.login_url, sp, idp_config(idp), state)
    except saml.Rejected as rejected:
        raise Invalid(rejected.reason, rejected.detail or "") from None
    now, state_id = clock.utcnow(), uuid.uuid4()
    await SamlLoginState.insert(
        SamlLoginState(
            id=state_id,
            org=org["id"],
            idp=idp["id"],
            purpose=purpose,
            state_hash=rt.keys.digest(state, purpose="saml_state"),
            request_id=request_id,
            next_url=next_url,
            link_user=link_user,
            expires_at=now + STATE_TTL,
            created_at=now,
        )
    )
    return url, state_id


async def start(
    rt: Runtime, org_slug: str, next_url: str | None, idp_id: str | None, email: str | None
) -> tuple[str, BrowserBinding | None]:
    """SP-initiated login: where to send the browser, and for an OpenID Connect IdP the
    cookie that binds the sign-in to this browser (set it on the redirect)."""
    target = safe_next(rt, next_url)
    org, idps = await org_and_idps(org_slug)
    idp = pick_idp(idps, idp_id, email)
    if idp["kind"] == "oidc":
        return await oidc_login.begin(rt, org, idp, "login", target)
    url, _ = await new_state(rt, org, idp, "login", target)
    return url, None


async def start_link(
    rt: Runtime, principal: Principal, idp_id: uuid.UUID
) -> tuple[str, BrowserBinding | None]:
    """A signed-in user links an IdP identity to their account (no silent linking by email)."""
    org = await org_row(principal.org_id)
    _, enabled = await org_and_idps(org["slug"])
    idps = [i for i in enabled if i["id"] == idp_id]
    if not idps:
        raise NotFound("idp_not_found", "No such identity provider.")
    if idps[0]["kind"] == "oidc":
        return await oidc_login.begin(rt, org, idps[0], "link", "/", principal.user_id)
    url, _ = await new_state(rt, org, idps[0], "link", "/", principal.user_id)
    return url, None


async def exchange(rt: Runtime, code: str, ctx: RequestContext) -> TokenPair | MfaChallenge:
    """Turn the ACS's one-time code into tokens (or a TOTP step when MFA is still owed)."""
    limit = SSO_EXCHANGE_IP.at(rt.settings, ctx.ip)
    await rt.limiter.check(*limit)
    invalid = Unauthorized("invalid_code", "This sign-in code is not valid or has expired.")
    now = clock.utcnow()
    row = (
        await SsoCode.select()
        .where(SsoCode.code_hash == rt.keys.digest(code, purpose="sso_code"))
        .first()
    )
    used = (
        await SsoCode.update({SsoCode.used_at: now})
        .where((SsoCode.id == row["id"]) & SsoCode.used_at.is_null() & (SsoCode.expires_at > now))
        .returning(SsoCode.id)
        if row
        else []
    )
    if row is None or not used:
        await rt.limiter.hit(*limit)
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
    """Discovery: which of these orgs sign in with SSO, named by protocol ("saml", "oidc",
    the kinds of their enabled IdPs, oldest first). Both start at the same login URL."""
    rows = (
        await IdentityProvider.select(IdentityProvider.org, IdentityProvider.kind)
        .where(IdentityProvider.org.is_in(org_ids) & (IdentityProvider.enabled == True))  # noqa: E712
        .order_by(IdentityProvider.created_at)
        if org_ids
        else []
    )
    kinds: dict[uuid.UUID, list[str]] = {}
    for r in rows:
        if r["kind"] not in kinds.setdefault(r["org"], []):
            kinds[r["org"]].append(r["kind"])
    return kinds
