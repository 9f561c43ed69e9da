"""The OAuth flows the controllers call: the consent page's check and decision, the token,
revocation and introspection endpoints, and the server's metadata (RFC 8414).

Each authlib flow runs in a worker thread (server.py says why). The protocol endpoints
answer RFC 6749 JSON (`error`, `error_description`); the consent API, which the web app
calls, answers problem+json like the rest of the API.
"""

from __future__ import annotations

import asyncio
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.util import scope_to_list

from staffroom.accounts.schemas import OrgRef
from staffroom.accounts.service.api_keys import SCOPES
from staffroom.accounts.service.lookups import org_row
from staffroom.core import audit
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import DomainError, NotFound, RateLimited
from staffroom.core.limits import OAUTH_IP
from staffroom.core.runtime import Runtime
from staffroom.oauth.schemas import AuthorizeCheck, AuthorizeOut, AuthorizePrompt, OAuthAppRef
from staffroom.oauth.service import store
from staffroom.oauth.service.models import Person
from staffroom.oauth.service.server import HttpRequest, Server

Answer = tuple[int, dict[str, Any], list[tuple[str, str]]]
_JSON = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
# Failures that mean a wrong secret, code or token: counted per address like failed logins.
_GUESSES = ("invalid_client", "invalid_grant")


class OAuthRefused(DomainError):
    """An authorization request the app cannot be told about (unknown client or redirect
    URI): the person sees why, nobody is redirected."""

    status = 422


def _refused(error: OAuth2Error) -> AuthorizeCheck:
    """An authlib refusal: a redirect back to the app when RFC 6749 allows one."""
    if error.redirect_uri:
        _, _, headers = error()
        return AuthorizeCheck(redirect_to=dict(headers)["Location"])
    if error.error == "invalid_client":
        # Unknown, disabled or another org's client: not found, as everywhere.
        raise NotFound("oauth_client_not_found", "No such app in your organisation.")
    raise OAuthRefused(f"oauth_{error.error}", error.description or error.error)


def _person(principal: Principal) -> Person:
    return Person(principal.user_id, principal.org_id, principal.permissions)


async def _consent_grant(rt: Runtime, principal: Principal, http: HttpRequest, ctx: Any) -> Any:
    server = Server(rt, ctx, org_id=principal.org_id)
    try:
        return await asyncio.to_thread(server.get_consent_grant, http, _person(principal))
    except ValueError:
        # authlib quotes request values in its error descriptions and refuses to build one
        # holding a character RFC 6749 does not allow there (a quote, a backslash, non-ASCII).
        raise OAuthRefused(
            "oauth_invalid_request", "The request holds characters no OAuth parameter may hold."
        ) from None
    except OAuth2Error as error:
        if server.client_seen is not None:
            await audit.record(
                "oauth.authorization_refused",
                outcome="denied",
                ctx=ctx,
                org_id=principal.org_id,
                actor_id=principal.user_id,
                target_type="oauth_client",
                target_id=server.client_seen.id,
                details={"error": error.error},
            )
        raise


async def check(
    rt: Runtime, principal: Principal, http: HttpRequest, ctx: RequestContext
) -> AuthorizeCheck:
    """Validate an authorization request for the consent page."""
    try:
        grant = await _consent_grant(rt, principal, http, ctx)
    except OAuth2Error as error:
        return _refused(error)
    client = grant.request.client
    scopes = scope_to_list(grant.request.scope)
    org = await org_row(principal.org_id)
    return AuthorizeCheck(
        prompt=AuthorizePrompt(
            client=OAuthAppRef(client_id=str(client.id), name=client.name),
            org=OrgRef(id=org["id"], slug=org["slug"], name=org["name"]),
            scopes=scopes,
            redirect_uri=grant.redirect_uri,
            remembered=await store.consent_covers(principal.user_id, client.id, scopes),
        )
    )


async def decide(
    rt: Runtime, principal: Principal, http: HttpRequest, approve: bool, ctx: RequestContext
) -> AuthorizeOut:
    """The person's answer: a code (remembering the consent) or access_denied, both sent
    back to the app's redirect URI."""
    try:
        grant = await _consent_grant(rt, principal, http, ctx)
    except OAuth2Error as error:
        refused = _refused(error)
        assert refused.redirect_to is not None
        return AuthorizeOut(redirect_to=refused.redirect_to)
    client = grant.request.client
    scopes = scope_to_list(grant.request.scope)
    person = _person(principal) if approve else None
    server = grant.server
    _, _, headers = await asyncio.to_thread(
        server.create_authorization_response, grant.request, person, grant
    )
    if approve:
        await store.remember_consent(principal.org_id, principal.user_id, client.id, scopes)
    await audit.record(
        "oauth.authorized" if approve else "oauth.authorization_denied",
        outcome="success" if approve else "denied",
        ctx=ctx,
        org_id=principal.org_id,
        actor_id=principal.user_id,
        target_type="oauth_client",
        target_id=client.id,
        details={"scopes": scopes, "client_name": client.name},
    )
    return AuthorizeOut(redirect_to=dict(headers)["Location"])


def _error(status: int, error: str, description: str, **headers: str) -> Answer:
    return status, {"error": error, "error_description": description}, [*_JSON, *headers.items()]


async def _endpoint(rt: Runtime, http: HttpRequest, ctx: RequestContext, name: str) -> Answer:
    """A token, revocation or introspection request, limited like sign-in."""
    if http.query:
        # Codes, secrets and tokens never travel in a URL (logs, proxies, Referer).
        return _error(400, "invalid_request", "Send the parameters in the form body, not the URL.")
    key, rule = OAUTH_IP.at(rt.settings, ctx.ip)
    try:
        await rt.limiter.check(key, rule)
    except RateLimited as limited:
        retry = limited.headers["Retry-After"]
        description = f"Too many failed attempts from this address; retry after {retry} s."
        return _error(429, "temporarily_unavailable", description, **{"Retry-After": retry})
    server = Server(rt, ctx)
    run = server.create_token_response if name == "token" else server.create_endpoint_response
    args = (http,) if name == "token" else (name, http)
    try:
        status, body, headers = await asyncio.to_thread(run, *args)
    except ValueError:
        # authlib decodes Basic credentials as UTF-8 and lets a bad byte through, and quotes
        # request values in descriptions that may not hold every character.
        return _error(400, "invalid_request", "The request is malformed.")
    if status >= 400 and body.get("error") in _GUESSES:
        await rt.limiter.hit(key, rule)
        if server.client_seen is not None:
            await audit.record(
                f"oauth.{name}_refused",
                outcome="denied",
                ctx=ctx,
                org_id=server.client_seen.org_id,
                actor_type="oauth_client",
                actor_id=server.client_seen.id,
                target_type="oauth_client",
                target_id=server.client_seen.id,
                details={"error": body["error"]},
            )
    return status, body, headers


async def token(rt: Runtime, http: HttpRequest, ctx: RequestContext) -> Answer:
    """RFC 6749 token endpoint: authorization_code (with PKCE), refresh_token,
    client_credentials."""
    return await _endpoint(rt, http, ctx, "token")


async def revoke(rt: Runtime, http: HttpRequest, ctx: RequestContext) -> Answer:
    """RFC 7009: revoking either token of a grant revokes the grant."""
    return await _endpoint(rt, http, ctx, "revocation")


async def introspect(rt: Runtime, http: HttpRequest, ctx: RequestContext) -> Answer:
    """RFC 7662, for the calling client's own tokens."""
    return await _endpoint(rt, http, ctx, "introspection")


def metadata(rt: Runtime) -> dict[str, Any]:
    """RFC 8414 authorization server metadata. The authorization endpoint is the web app's
    consent page (it signs the person in, then asks)."""
    base = rt.settings.public_url.rstrip("/")
    secret_methods = ["client_secret_basic", "client_secret_post"]
    return {
        "issuer": base,
        "authorization_endpoint": f"{rt.settings.effective_app_url}/oauth/authorize",
        "token_endpoint": f"{base}/api/v1/oauth/token",
        "revocation_endpoint": f"{base}/api/v1/oauth/revoke",
        "introspection_endpoint": f"{base}/api/v1/oauth/introspect",
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": [*secret_methods, "none"],
        "revocation_endpoint_auth_methods_supported": [*secret_methods, "none"],
        "introspection_endpoint_auth_methods_supported": secret_methods,
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": f"{base}/schema/swagger",
    }
