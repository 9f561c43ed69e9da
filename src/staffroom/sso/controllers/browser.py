"""The browser side of SAML (metadata, login, ACS, SLS) and the app's code exchange."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody, Parameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER

from staffroom.accounts import web_session
from staffroom.accounts.guards import ALLOW_ENROL, PUBLIC
from staffroom.accounts.schemas import MfaChallenge, TokenPair
from staffroom.accounts.service.lookups import require_org
from staffroom.core.context import Principal, RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.web import errors
from staffroom.sso import saml
from staffroom.sso.schemas import ExchangeIn, RedirectOut
from staffroom.sso.service import acs, login, logout
from staffroom.sso.service.idps import sp_config

Ctx = NamedDependency[RequestContext]
Rt = NamedDependency[Runtime]
Me = NamedDependency[Principal]
Slug = Annotated[str, Parameter(min_length=1, max_length=63)]
Short = Annotated[str | None, Parameter(max_length=2000)]
_BASE64 = r"^[A-Za-z0-9+/=\s]*$"
SamlMessage = Annotated[str | None, Parameter(max_length=8000, pattern=_BASE64)]
SamlSignature = Annotated[str | None, Parameter(max_length=1000, pattern=_BASE64)]
# RelayState (≤ 80 bytes in the SAML binding spec) and SigAlg (a URI): printable ASCII.
SamlToken = Annotated[str | None, Parameter(max_length=512, pattern=r"^[\x21-\x7e]*$")]
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
        url = await login.start(rt, org_slug, next, idp, email)
        return Redirect(url, status_code=HTTP_303_SEE_OTHER)

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
    path = "/api/v1"
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
    async def link(self, idp_id: FromPath[uuid.UUID], me: Me, rt: Rt) -> RedirectOut:
        return RedirectOut(redirect_url=await login.start_link(rt, me, idp_id))
