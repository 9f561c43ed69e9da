"""The browser side of SSO (SAML metadata, login, ACS, SLS; the OIDC callback) and the
app's code exchange."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER

from staffroom.accounts import web_session
from staffroom.accounts.guards import ALLOW_ENROL, PUBLIC
from staffroom.accounts.schemas import MfaChallenge, TokenPair
from staffroom.accounts.service.lookups import require_org
from staffroom.core.web import Ctx, Me, Rt, errors
from staffroom.sso import saml
from staffroom.sso.controllers.cookies import bound
from staffroom.sso.schemas import ExchangeIn, RedirectOut
from staffroom.sso.service import acs, login, logout, oidc_login
from staffroom.sso.service.idps import sp_config

Slug = Annotated[str, Parameter(min_length=1, max_length=63)]
Short = Annotated[str | None, Parameter(max_length=2000)]
_BASE64 = r"^[A-Za-z0-9+/=\s]*$"
SamlMessage = Annotated[str | None, Parameter(max_length=8000, pattern=_BASE64)]
SamlSignature = Annotated[str | None, Parameter(max_length=1000, pattern=_BASE64)]
# RelayState (≤ 80 bytes in the SAML binding spec) and SigAlg (a URI): printable ASCII.
SamlToken = Annotated[str | None, Parameter(max_length=512, pattern=r"^[\x21-\x7e]*$")]
# Authorization codes (Entra ID's ~1.5 KB), our state, error texts, an issuer URL.
OidcParam = Annotated[str | None, Parameter(max_length=4096)]
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class SamlBrowserController(Controller):
    path = "/sso/{org_slug:str}/saml"
    tags = ["sso (browser)"]
    opt = {PUBLIC: True}

    @get(
        "/metadata",
        operation_id="saml_sp_metadata",
        summary="Our SAML service provider metadata for this organisation",
        media_type="application/samlmetadata+xml",
        responses=errors(404),
    )
    async def metadata(self, org_slug: FromPath[Slug], rt: Rt) -> Response[str]:
        org = await require_org(org_slug)
        xml = await asyncio.to_thread(saml.sp_metadata, sp_config(rt, org["slug"]))
        return Response(xml, media_type="application/samlmetadata+xml")

    @get(
        "/login",
        operation_id="saml_login",
        summary="Start SP-initiated login: redirects to the identity provider",
        description="`next` is a relative path or an allow-listed app URL / deep link. "
        "With several IdPs, pick one with `idp` (its id) or `email` (by domain).",
        status_code=HTTP_303_SEE_OTHER,
        responses=errors(404, 422),
    )
    async def login(
        self,
        org_slug: FromPath[Slug],
        rt: Rt,
        next: FromQuery[Short] = None,
        idp: FromQuery[Annotated[str | None, Parameter(max_length=64)]] = None,
        email: FromQuery[Annotated[str | None, Parameter(max_length=320)]] = None,
    ) -> Redirect:
        url, binding = await login.start(rt, org_slug, next, idp, email)
        return Redirect(url, status_code=HTTP_303_SEE_OTHER, cookies=bound(binding))

    @post(
        "/acs",
        operation_id="saml_acs",
        summary="Assertion consumer service: redirects to the app with a one-time code",
        status_code=HTTP_303_SEE_OTHER,
        responses=errors(400, 404, 413, 422),
    )
    async def acs(self, org_slug: FromPath[Slug], data: Form, rt: Rt, ctx: Ctx) -> Redirect:
        url = await acs.acs(rt, org_slug, data.get("SAMLResponse"), data.get("RelayState"), ctx)
        return Redirect(url, status_code=HTTP_303_SEE_OTHER)

    @get(
        "/sls",
        operation_id="saml_sls",
        summary="Single Logout from the identity provider (Redirect binding)",
        status_code=HTTP_303_SEE_OTHER,
        responses=errors(404, 422),
    )
    async def sls(
        self,
        org_slug: FromPath[Slug],
        rt: Rt,
        ctx: Ctx,
        # Redirect-binding messages are deflated and base64-encoded: a few KB of ASCII. The
        # limits keep the whole URL under what the HTTP server reads (64 KiB, else a bare 414).
        SAMLRequest: FromQuery[SamlMessage] = None,
        SAMLResponse: FromQuery[SamlMessage] = None,
        RelayState: FromQuery[SamlToken] = None,
        SigAlg: FromQuery[SamlToken] = None,
        Signature: FromQuery[SamlSignature] = None,
    ) -> Redirect:
        given = {
            "SAMLRequest": SAMLRequest,
            "SAMLResponse": SAMLResponse,
            "RelayState": RelayState,
            "SigAlg": SigAlg,
            "Signature": Signature,
        }
        url = await logout.sls(rt, org_slug, {k: v for k, v in given.items() if v}, ctx)
        return Redirect(url, status_code=HTTP_303_SEE_OTHER)


class SsoAuthController(Controller):
    path = "/"
    tags = ["auth"]

    @post(
        "/auth/sso/exchange",
        status_code=HTTP_200_OK,
        operation_id="sso_exchange",
        summary="Turn the one-time SSO code into tokens (or a TOTP step)",
        opt={PUBLIC: True},
        responses=errors(401, 422, 429),
    )
    async def exchange(
        self, request: Request[Any, Any, Any], data: JSONBody[ExchangeIn], rt: Rt, ctx: Ctx
    ) -> Response[TokenPair | MfaChallenge]:
        return web_session.respond(request, await login.exchange(rt, data.code, ctx))

    @post(
        "/auth/sso/logout",
        status_code=HTTP_200_OK,
        operation_id="sso_logout",
        summary="End this session; for SSO sessions, the URL that ends it at the IdP too",
        security=[{"bearer": []}],
        opt={ALLOW_ENROL: True},
        responses=errors(401),
    )
    async def sso_logout(self, me: Me, rt: Rt, ctx: Ctx) -> RedirectOut:
        return await logout.sp_logout(rt, me, ctx)

    @post(
        "/me/sso/link/{idp_id:uuid}",
        status_code=HTTP_200_OK,
        operation_id="link_sso_identity",
        summary="Link an identity provider login to this account (opens the IdP)",
        security=[{"bearer": []}],
        responses=errors(401, 404, 422),
    )
    async def link(self, idp_id: FromPath[uuid.UUID], me: Me, rt: Rt) -> Response[RedirectOut]:
        url, binding = await login.start_link(rt, me, idp_id)
        return Response(RedirectOut(redirect_url=url), cookies=bound(binding))


class OidcBrowserController(Controller):
    path = "/sso/{org_slug:str}/oidc"
    tags = ["sso (browser)"]
    opt = {PUBLIC: True}

    @get(
        "/callback",
        operation_id="oidc_callback",
        summary="OpenID Connect redirect URI: redirects to the app with a one-time code",
        description="Only from the browser that started the sign-in (its cookie); the "
        "authorization code is exchanged with PKCE and the ID token validated strictly. "
        "A refusal redirects to the app's error page with the reason (also in the doctor).",
        status_code=HTTP_303_SEE_OTHER,
        responses=errors(404, 422),
    )
    async def callback(
        self,
        request: Request[Any, Any, Any],
        org_slug: FromPath[Slug],
        rt: Rt,
        ctx: Ctx,
        code: FromQuery[OidcParam] = None,
        # "state" is Litestar's reserved name for the app state: read under another name.
        oidc_state: Annotated[str | None, QueryParameter(name="state", max_length=4096)] = None,
        error: FromQuery[OidcParam] = None,
        error_description: FromQuery[OidcParam] = None,
        iss: FromQuery[OidcParam] = None,
    ) -> Redirect:
        given = {
            "code": code,
            "state": oidc_state,
            "error": error,
            "error_description": error_description,
            "iss": iss,
        }
        params = {k: v for k, v in given.items() if v is not None}
        done = await oidc_login.callback(rt, org_slug, params, request.cookies, ctx)
        # The binding cookie did its work (or was not ours): drop it either way.
        cookies = (
            [Cookie(key=done.clear_cookie, value="", max_age=0, path=done.cookie_path)]
            if done.clear_cookie
            else []
        )
        return Redirect(done.url, status_code=HTTP_303_SEE_OTHER, cookies=cookies)
