"""OAuth HTTP routes: clients for IT admins, the consent page's API, a person's connected
apps, and the protocol endpoints (token, revocation, introspection, metadata). Each route
turns the Litestar request into the framework-neutral HttpRequest and back."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, Router, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from staffroom.accounts.guards import PUBLIC, requires
from staffroom.core.runtime import Runtime
from staffroom.core.web import Ctx, Me, Rt, errors
from staffroom.oauth.schemas import (
    AuthorizeCheck,
    AuthorizeDecision,
    AuthorizeOut,
    ConnectedApp,
    OAuthClientCreated,
    OAuthClientIn,
    OAuthClientOut,
    OAuthClientPatch,
    OAuthSecret,
)
from staffroom.oauth.service import access, clients, flows
from staffroom.oauth.service.server import HttpRequest

Param = FromQuery[str | None]
_FORM = "application/x-www-form-urlencoded"


async def _http(request: Request[Any, Any, Any], rt: Runtime, *, source: str) -> HttpRequest:
    """The request as authlib's adapter takes it; its URL on our public address (authlib
    insists on https there, or a loopback address)."""
    url = rt.settings.public_url.rstrip("/") + request.url.path
    form: list[tuple[str, str]] = []
    if request.headers.get("content-type", "").lower().startswith(_FORM):
        form = [(k, str(v)) for k, v in (await request.form()).multi_items()]
    return HttpRequest(
        method=request.method,
        url=url,
        headers=request.headers,
        query=list(request.query_params.multi_items()),
        form=form,
        source="query" if source == "query" else "form",
    )


def _protocol(answer: flows.Answer) -> Response[Any]:
    status, body, headers = answer
    kept = {k: v for k, v in headers if k.lower() != "content-type"}
    return Response(body, status_code=status, headers=kept, media_type="application/json")


class OAuthClientsController(Controller):
    path = "/oauth/clients"
    tags = ["oauth"]
    security = [{"bearer": []}]
    guards = [requires("oauth_clients.manage")]

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="create_oauth_client",
        summary="Register an app: confidential (the secret is shown once) or public (PKCE); "
        "exact redirect URIs (https, or http on a loopback address); the API keys' scopes",
        responses=errors(401, 403, 422),
    )
    async def create(
        self, data: JSONBody[OAuthClientIn], me: Me, rt: Rt, ctx: Ctx
    ) -> OAuthClientCreated:
        return await clients.create(rt, me, data, ctx)

    @get(
        "",
        operation_id="list_oauth_clients",
        summary="The org's apps (never their secrets), with live grants and last use",
        responses=errors(401, 403),
    )
    async def list_clients(self, me: Me) -> list[OAuthClientOut]:
        return await clients.list_clients(me)

    @get(
        "/{client_id:uuid}",
        operation_id="get_oauth_client",
        summary="One app",
        responses=errors(401, 403, 404),
    )
    async def get_client(self, client_id: FromPath[uuid.UUID], me: Me) -> OAuthClientOut:
        return await clients.get(me, client_id)

    @patch(
        "/{client_id:uuid}",
        operation_id="update_oauth_client",
        summary="Rename, change redirect URIs or scopes (fewer scopes apply to live tokens "
        "at once)",
        responses=errors(401, 403, 404, 422),
    )
    async def update(
        self,
        client_id: FromPath[uuid.UUID],
        data: JSONBody[OAuthClientPatch],
        me: Me,
        rt: Rt,
        ctx: Ctx,
    ) -> OAuthClientOut:
        return await clients.update(rt, me, client_id, data, ctx)

    @post(
        "/{client_id:uuid}/disable",
        status_code=HTTP_200_OK,
        operation_id="disable_oauth_client",
        summary="Disable an app: every token it holds is revoked at once",
        responses=errors(401, 403, 404),
    )
    async def disable(self, client_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> OAuthClientOut:
        return await clients.set_disabled(me, client_id, True, ctx)

    @post(
        "/{client_id:uuid}/enable",
        status_code=HTTP_200_OK,
        operation_id="enable_oauth_client",
        summary="Enable a disabled app again (its revoked tokens stay revoked)",
        responses=errors(401, 403, 404),
    )
    async def enable(self, client_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> OAuthClientOut:
        return await clients.set_disabled(me, client_id, False, ctx)

    @post(
        "/{client_id:uuid}/secret",
        status_code=HTTP_200_OK,
        operation_id="rotate_oauth_client_secret",
        summary="A new secret for a confidential app, shown once (the old one stops working)",
        responses=errors(401, 403, 404, 422),
    )
    async def rotate(self, client_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx) -> OAuthSecret:
        return await clients.rotate_secret(rt, me, client_id, ctx)

    @delete(
        "/{client_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="delete_oauth_client",
        summary="Remove an app with its consents and tokens",
        responses=errors(401, 403, 404),
    )
    async def remove(self, client_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await clients.delete(me, client_id, ctx)


_AUTHORIZE_DOC = (
    "The parameters of the app's authorization request (RFC 6749 4.1.1 with PKCE): the web "
    "app's consent page at /oauth/authorize passes its query on unchanged. Unknown or "
    "another org's apps are 404, a redirect URI not registered exactly 422; refusals the "
    "app must hear of come back as `redirect_to`."
)


class AuthorizeController(Controller):
    path = "/oauth/authorize"
    tags = ["oauth"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="check_oauth_authorization",
        summary="Check an app's authorization request: what the consent page asks",
        description=_AUTHORIZE_DOC,
        responses=errors(401, 403, 404, 422),
    )
    async def check(
        self,
        request: Request[Any, Any, Any],
        me: Me,
        rt: Rt,
        ctx: Ctx,
        response_type: Param = None,
        client_id: Param = None,
        redirect_uri: Param = None,
        scope_: Annotated[str | None, QueryParameter(name="scope")] = None,
        state_: Annotated[str | None, QueryParameter(name="state")] = None,
        code_challenge: Param = None,
        code_challenge_method: Param = None,
    ) -> AuthorizeCheck:
        # Declared for the API's documentation; authlib reads the raw query (repeats too).
        return await flows.check(rt, me, await _http(request, rt, source="query"), ctx)

    @post(
        "",
        status_code=HTTP_200_OK,
        operation_id="decide_oauth_authorization",
        summary="Allow or deny an app's request: where to send the browser (code or error)",
        description=_AUTHORIZE_DOC,
        responses=errors(401, 403, 404, 422),
    )
    async def decide(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[AuthorizeDecision],
        me: Me,
        rt: Rt,
        ctx: Ctx,
        response_type: Param = None,
        client_id: Param = None,
        redirect_uri: Param = None,
        scope_: Annotated[str | None, QueryParameter(name="scope")] = None,
        state_: Annotated[str | None, QueryParameter(name="state")] = None,
        code_challenge: Param = None,
        code_challenge_method: Param = None,
    ) -> AuthorizeOut:
        http = await _http(request, rt, source="query")
        return await flows.decide(rt, me, http, data.approve, ctx)


class ConnectedAppsController(Controller):
    path = "/me/connected-apps"
    tags = ["me"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="list_connected_apps",
        summary="The apps I allowed, what each may do and when it last did",
        responses=errors(401, 403),
    )
    async def list_apps(self, me: Me) -> list[ConnectedApp]:
        return await access.connected_apps(me)

    @delete(
        "/{client_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="disconnect_app",
        summary="Disconnect an app: forget my consent and revoke its tokens at once",
        responses=errors(401, 403, 404),
    )
    async def disconnect(self, client_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await access.disconnect(me, client_id, ctx)


class OAuthProtocolController(Controller):
    """RFC 6749/7009/7662 endpoints: form bodies in, RFC JSON out (`error`,
    `error_description`), described by the metadata document rather than the OpenAPI one."""

    path = "/oauth"
    opt = {PUBLIC: True}
    include_in_schema = False

    @post("/token", status_code=HTTP_200_OK)
    async def token(self, request: Request[Any, Any, Any], rt: Rt, ctx: Ctx) -> Response[Any]:
        return _protocol(await flows.token(rt, await _http(request, rt, source="form"), ctx))

    @post("/revoke", status_code=HTTP_200_OK)
    async def revoke(self, request: Request[Any, Any, Any], rt: Rt, ctx: Ctx) -> Response[Any]:
        return _protocol(await flows.revoke(rt, await _http(request, rt, source="form"), ctx))

    @post("/introspect", status_code=HTTP_200_OK)
    async def introspect(self, request: Request[Any, Any, Any], rt: Rt, ctx: Ctx) -> Response[Any]:
        http = await _http(request, rt, source="form")
        return _protocol(await flows.introspect(rt, http, ctx))


@get(
    "/.well-known/oauth-authorization-server",
    opt={PUBLIC: True},
    tags=["oauth"],
    operation_id="oauth_metadata",
    summary="RFC 8414 authorization server metadata: endpoints, scopes, grant types, S256",
    responses=errors(),
    sync_to_thread=False,
)
def metadata(rt: Rt) -> dict[str, Any]:
    return flows.metadata(rt)


# One router for the domain: the API's path prefix is said here, once.
ROUTER = Router(
    path="/api/v1",
    route_handlers=[
        OAuthClientsController,
        AuthorizeController,
        ConnectedAppsController,
        OAuthProtocolController,
    ],
)
# RFC 8414 puts the metadata document at the host's root.
WELL_KNOWN = [metadata]
