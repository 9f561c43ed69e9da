"""IT admins' SSO configuration and the SSO doctor (sso.manage)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, RawBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from staffroom.accounts.guards import requires
from staffroom.core.web import Ctx, Me, Rt, errors
from staffroom.sso.controllers.cookies import bound
from staffroom.sso.schemas import (
    AttemptList,
    IdpIn,
    IdpList,
    IdpOut,
    IdpPatch,
    MetadataUrlIn,
    OidcIdpIn,
    Preset,
    PreviewIn,
    PreviewOut,
    SsoSettingsIn,
    SsoSettingsOut,
    SsoTestResultOut,
    SsoTestStartOut,
)
from staffroom.sso.service import doctor, idp_metadata, idps, testing


class SsoAdminController(Controller):
    path = "/sso"
    tags = ["sso"]
    security = [{"bearer": []}]
    guards = [requires("sso.manage")]

    @get(
        "/saml",
        operation_id="get_sso_settings",
        summary="SSO enforcement, break-glass owners, our SP values and the IdPs",
        responses=errors(401, 403),
    )
    async def get_settings(self, me: Me, rt: Rt) -> SsoSettingsOut:
        return await idps.settings_of(rt, me)

    @put(
        "/saml",
        operation_id="put_sso_settings",
        summary="Require SSO (password login only for break-glass owners) or stop requiring it",
        responses=errors(401, 403, 422),
    )
    async def put_settings(
        self, data: JSONBody[SsoSettingsIn], me: Me, rt: Rt, ctx: Ctx
    ) -> SsoSettingsOut:
        return await idps.put_settings(rt, me, data, ctx)

    @get(
        "/idps",
        operation_id="list_idps",
        summary="The identity providers",
        responses=errors(401, 403),
    )
    async def list_idps(self, me: Me, rt: Rt) -> IdpList:
        return await idps.list_idps(rt, me)

    @post(
        "/idps",
        status_code=HTTP_201_CREATED,
        operation_id="create_idp",
        summary="Add an identity provider by its fields",
        responses=errors(401, 403, 409, 422),
    )
    async def create(self, data: JSONBody[IdpIn], me: Me, rt: Rt, ctx: Ctx) -> IdpOut:
        return await idps.create(rt, me, data, ctx)

    @post(
        "/idps/oidc",
        status_code=HTTP_201_CREATED,
        operation_id="create_oidc_idp",
        summary="Add an OpenID Connect identity provider (issuer, client, preset)",
        description="The client secret is sealed at rest and never returned "
        "(`client_secret_set`). Register the answer's `redirect_uri` at the IdP.",
        responses=errors(401, 403, 422),
    )
    async def create_oidc(self, data: JSONBody[OidcIdpIn], me: Me, rt: Rt, ctx: Ctx) -> IdpOut:
        return await idps.create_oidc(rt, me, data, ctx)

    @post(
        "/idps/metadata",
        status_code=HTTP_201_CREATED,
        operation_id="create_idp_from_metadata",
        summary="Add an identity provider from its metadata XML (request body)",
        request_max_body_size=1024 * 1024,
        responses=errors(401, 403, 409, 413, 422),
    )
    async def create_from_metadata(
        self,
        body: RawBody,
        me: Me,
        rt: Rt,
        ctx: Ctx,
        name: FromQuery[Annotated[str, Parameter(min_length=1, max_length=100)]],
        preset: FromQuery[Preset] = "generic",
        enabled: FromQuery[bool] = True,
    ) -> IdpOut:
        xml = bytes(body).decode("utf-8", "replace")
        return await idp_metadata.create_from_metadata(rt, me, xml, name, preset, ctx, enabled)

    @post(
        "/idps/metadata-url",
        status_code=HTTP_201_CREATED,
        operation_id="create_idp_from_metadata_url",
        summary="Add an identity provider from a metadata URL (fetched once, 1 MiB, 10 s)",
        responses=errors(401, 403, 409, 422),
    )
    async def create_from_url(
        self, data: JSONBody[MetadataUrlIn], me: Me, rt: Rt, ctx: Ctx
    ) -> IdpOut:
        return await idp_metadata.create_from_url(rt, me, data, ctx)

    @get(
        "/idps/{idp_id:uuid}",
        operation_id="get_idp",
        summary="One identity provider with certificate expiry warnings",
        responses=errors(401, 403, 404),
    )
    async def get_idp(self, idp_id: FromPath[uuid.UUID], me: Me, rt: Rt) -> IdpOut:
        return await idps.get(rt, me, idp_id)

    @patch(
        "/idps/{idp_id:uuid}",
        operation_id="update_idp",
        summary="Change an identity provider (certificate rollover: send old and new)",
        responses=errors(401, 403, 404, 409, 422),
    )
    async def update(
        self, idp_id: FromPath[uuid.UUID], data: JSONBody[IdpPatch], me: Me, rt: Rt, ctx: Ctx
    ) -> IdpOut:
        return await idps.patch(rt, me, idp_id, data, ctx)

    @delete(
        "/idps/{idp_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="delete_idp",
        summary="Remove an identity provider and the identities linked through it",
        responses=errors(401, 403, 404),
    )
    async def remove(self, idp_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await idps.delete(me, idp_id, ctx)

    @get(
        "/idps/{idp_id:uuid}/attempts",
        status_code=HTTP_200_OK,
        operation_id="sso_doctor_attempts",
        summary="SSO doctor: the last 50 attempts with reasons, received vs expected attributes",
        description="The attempts carrying the IdP's signature, with the number of unsigned "
        "ones naming it (anyone can post those); `unsigned=true` lists the unsigned ones.",
        responses=errors(401, 403, 404),
    )
    async def attempts(
        self, idp_id: FromPath[uuid.UUID], me: Me, rt: Rt, unsigned: FromQuery[bool] = False
    ) -> AttemptList:
        await idps.get(rt, me, idp_id)
        return await doctor.attempts(me, idp_id, unsigned)

    @get(
        "/attempts/unknown-issuer",
        operation_id="sso_doctor_unknown_issuer",
        summary="SSO doctor: attempts whose issuer matched no identity provider",
        responses=errors(401, 403),
    )
    async def unknown(self, me: Me) -> AttemptList:
        return await doctor.attempts(me, None)

    @post(
        "/idps/{idp_id:uuid}/test",
        status_code=HTTP_201_CREATED,
        operation_id="start_sso_test",
        summary="Start a test sign-in: a real SP-initiated login that signs nobody in",
        description="Open `redirect_url` in a new window and sign in at the IdP; the IdP's "
        "answer is checked like any login (the IdP may be disabled still), its window goes "
        "to the console's test page, and `GET /api/v1/sso/tests/{test_id}` has the outcome. "
        "For an OpenID Connect IdP the answer also sets the cookie that binds the sign-in "
        "to this browser (HttpOnly, for the callback only): open the window in it.",
        responses=errors(401, 403, 404, 422),
    )
    async def start_test(
        self, idp_id: FromPath[uuid.UUID], me: Me, rt: Rt
    ) -> Response[SsoTestStartOut]:
        started, binding = await testing.start(rt, me, idp_id)
        return Response(started, status_code=HTTP_201_CREATED, cookies=bound(binding))

    @get(
        "/tests/{test_id:uuid}",
        operation_id="sso_test_result",
        summary="The outcome of a test sign-in: waiting, done (with the attempt) or expired",
        responses=errors(401, 403, 404),
    )
    async def test_result(self, test_id: FromPath[uuid.UUID], me: Me) -> SsoTestResultOut:
        return await testing.result(me, test_id)

    @post(
        "/idps/{idp_id:uuid}/preview",
        status_code=HTTP_200_OK,
        operation_id="preview_sso_mapping",
        summary="Try an attribute mapping and group rules on the attributes of an attempt",
        description="Without `attempt_id`, the IdP's latest attempt that received attributes. "
        "Fields not given are the IdP's saved ones. Nothing is saved.",
        responses=errors(401, 403, 404, 422),
    )
    async def preview(
        self, idp_id: FromPath[uuid.UUID], data: JSONBody[PreviewIn], me: Me
    ) -> PreviewOut:
        return await testing.preview(me, idp_id, data)
