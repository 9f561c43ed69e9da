"""Identity (bearer tokens) and permission guards. No business rules here."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Guard

from staffroom.accounts.service import api_keys, hooks, sessions
from staffroom.core.context import Principal
from staffroom.core.errors import DomainError, Forbidden, Unauthorized
from staffroom.core.limits import PER_API_KEY, PER_USER
from staffroom.core.middleware import take_pending_ip
from staffroom.core.runtime import Runtime
from staffroom.core.web import provide_context

PUBLIC = "public"  # route opt: no authentication
ALLOW_ENROL = "allow_enrol"  # route opt: reachable with an MFA-enrolment-only session
# route opt: never for an integration's key, even under a path its scopes reach (another
# person's sessions and sign-in methods under /api/v1/users)
PEOPLE_ONLY = "people_only"


class TokenInQuery(DomainError):
    """RFC 6750's invalid_request (400): a token sent in the URL."""


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer …` header."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolves the access token to a Principal; routes marked public skip it."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        rt: Runtime = connection.app.state.runtime
        # The caller's address pays for every attempt, signed in or not.
        address = take_pending_ip(connection.scope, rt.settings)
        query = connection.scope.get("query_string", b"")
        if b"access_token" in query and "access_token" in connection.query_params:
            # RFC 6750 2.3 allows it; we do not: a URL ends up in logs and Referer headers.
            raise TokenInQuery(
                "token_in_query",
                "Send the access token in the Authorization header, never in the URL.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        token = bearer_token(connection)
        if token is None or len(token) > 256:
            await rt.limiter.take(*address)
            raise Unauthorized(
                "authentication_required",
                "Send a valid access token.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        resolver = next((r for is_mine, r in hooks.of(rt).bearer if is_mine(token)), None)
        if api_keys.is_api_key(token):
            principal = await api_keys.authenticate(rt, token, provide_context(connection))
            bucket = PER_API_KEY.at(rt.settings, principal.api_key_id) if principal else None
        elif resolver is not None:
            resolved = await resolver(rt, token, provide_context(connection))
            principal, bucket = resolved if resolved else (None, None)
        else:
            principal = await sessions.authenticate(rt, token)
            bucket = PER_USER.at(rt.settings, principal.user_id) if principal else None
        if principal is None or bucket is None:
            await rt.limiter.take(*address)
            raise Unauthorized(
                "invalid_token",
                "The access token is not valid or has expired.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        # Every caller has its own bucket too (a person, or an integration's key): both
        # buckets in one round trip to the store.
        await rt.limiter.take(*address, bucket)
        check_reach(principal, connection.scope["route_handler"], connection.scope["path"])
        return AuthenticationResult(user=principal, auth=token)


def check_reach(principal: Principal, handler: BaseRouteHandler, path: str) -> None:
    """What a signed-in caller may reach at all, before any route's own guards: an
    integration's key only its scopes' routes, an MFA-enrolment-only session only the
    MFA setup routes. Checked here rather than as an app-wide guard because Litestar
    copies the route handler for every guard it calls (~8 % of a small request)."""
    if principal.scope in ("api_key", "oauth"):
        # Deny by default: an integration (an API key, an app's OAuth token) reaches its
        # scopes' routes only (never /me, sessions, settings, keys or OAuth clients), and
        # the permission guards still apply.
        scopes = sorted(
            s for s, (perms, _) in api_keys.SCOPES.items() if perms <= principal.permissions
        )
        if path.startswith(api_keys.paths_for(scopes)) and not handler.opt.get(PEOPLE_ONLY):
            return
        if principal.scope == "oauth":
            raise Forbidden(
                "insufficient_scope",
                "This access token's scopes do not cover this route.",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope"'},
            )
        raise Forbidden("api_key_scope", "This API key's scopes do not cover this route.")
    if principal.scope != "full" and not handler.opt.get(ALLOW_ENROL):
        raise Forbidden(
            "mfa_enrolment_required",
            "Your organisation requires two-factor authentication: set it up first.",
        )


# Guards are coroutines: Litestar runs a plain-function guard in a worker thread, a
# thread hand-off per guard on every request.
def requires(*permissions: str) -> Guard:
    """A guard admitting callers holding every named permission."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            # Litestar's automatic OPTIONS handler (we define no other): authentication
            # skips it, it runs no handler and says only which methods the path has.
            return
        principal = connection.scope.get("user")
        if not isinstance(principal, Principal):
            # Never a bare 500 for a route that authentication did not reach.
            raise Unauthorized("authentication_required", "Send a valid access token.")
        missing = [p for p in permissions if not principal.can(p)]
        if missing:
            raise Forbidden("missing_permission", f"This needs the permission {missing[0]}.")

    return guard


def provide_principal(request: Request[Principal, Any, Any]) -> Principal:
    """Dependency `me`: the authenticated caller."""
    return request.user
