"""HTTP routes of email-domain binding (IT admins)."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from staffroom.accounts.guards import requires
from staffroom.core.context import Principal, RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.web import errors
from staffroom.onboarding.schemas import DomainIn, DomainList, DomainOut, DomainPatch
from staffroom.onboarding.service import domain_proof

Me = NamedDependency[Principal]
Ctx = NamedDependency[RequestContext]
Rt = NamedDependency[Runtime]


class DomainsController(Controller):
    path = "/api/v1/domains"
    tags = ["domains"]
    security = [{"bearer": []}]
    guards = [requires("domains.manage")]

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="add_domain",
        summary="Claim an email domain; the answer is the DNS TXT record that proves it",
        responses=errors(401, 403, 409, 422),
    )
    async def add(self, data: JSONBody[DomainIn], me: Me, ctx: Ctx) -> DomainOut:
        return await domain_proof.add(me, data, ctx)

    @get(
        "",
        operation_id="list_domains",
        summary="The organisation's domains, verified and pending",
        responses=errors(401, 403),
    )
    async def list_domains(self, me: Me) -> DomainList:
        return await domain_proof.list_domains(me)

    @get(
        "/{domain_id:uuid}",
        operation_id="get_domain",
        summary="One domain",
        responses=errors(401, 403, 404),
    )
    async def get_domain(self, domain_id: FromPath[uuid.UUID], me: Me) -> DomainOut:
        return await domain_proof.get(me, domain_id)

    @patch(
        "/{domain_id:uuid}",
        operation_id="update_domain",
        summary="Change subdomain coverage, default role and groups of a domain",
        responses=errors(401, 403, 404, 409, 422),
    )
    async def update(
        self, domain_id: FromPath[uuid.UUID], data: JSONBody[DomainPatch], me: Me, ctx: Ctx
    ) -> DomainOut:
        return await domain_proof.patch(me, domain_id, data, ctx)

    @post(
        "/{domain_id:uuid}/verify",
        status_code=HTTP_200_OK,
        operation_id="verify_domain",
        summary="Look up the TXT record; a match binds the domain",
        responses=errors(401, 403, 404, 409, 422, 429, 503),
    )
    async def verify(self, domain_id: FromPath[uuid.UUID], me: Me, rt: Rt, ctx: Ctx) -> DomainOut:
        return await domain_proof.verify(rt, me, domain_id, ctx)

    @delete(
        "/{domain_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        operation_id="delete_domain",
        summary="Unbind a domain (members keep their accounts)",
        responses=errors(401, 403, 404),
    )
    async def remove(self, domain_id: FromPath[uuid.UUID], me: Me, ctx: Ctx) -> None:
        await domain_proof.remove(me, domain_id, ctx)
