"""API keys for integrations (holders of api_keys.manage)."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from staffroom.accounts.guards import requires
from staffroom.accounts.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut
from staffroom.accounts.service import api_keys
from staffroom.core.web import Ctx, Me, Rt, errors


class ApiKeysController(Controller):
    path = "/api-keys"
    tags = ["api keys"]
    security = [{"bearer": []}]
    guards = [requires("api_keys.manage")]

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="create_api_key",
        summary="Create a key with scopes (users:read, users:write, invites:write, feeds:read, "
        "feeds:write, audit:read); the key is shown once",
        responses=errors(401, 403, 422),
    )
    async def create(self, data: JSONBody[ApiKeyIn], me: Me, rt: Rt, ctx: Ctx) -> ApiKeyCreated:
        return await api_keys.create(rt, me, data, ctx)

    @get(
        "",
        operation_id="list_api_keys",
        summary="The org's keys: prefix, scopes, expiry, last use (never the secret)",
        responses=errors(401, 403),
    )
    async def list_keys(self, me: Me) -> list[ApiKeyOut]:
        return await api_keys.list_keys(me)

    @delete(
        "/{key_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="revoke_api_key",
        summary="Revoke a key at once",
        responses=errors(401, 403, 404),
    )
    async def revoke(self, key_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await api_keys.revoke(me, key_id, ctx)
