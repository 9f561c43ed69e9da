"""HTTP route of the attention list (HTTP only: the rules are in the service)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from staffroom.attention import service
from staffroom.attention.schemas import AttentionList
from staffroom.core.context import Principal
from staffroom.core.runtime import Runtime
from staffroom.core.web import errors

Me = NamedDependency[Principal]
Rt = NamedDependency[Runtime]


class AttentionController(Controller):
    path = "/api/v1/org"
    tags = ["organisation"]
    security = [{"bearer": []}]

    @get(
        "/attention",
        operation_id="org_attention",
        summary="What needs attention, as far as the caller's permissions reach",
        description="Unverified domains (domains.manage); IdP certificates expiring within "
        "30 days and failed SSO attempts of the last day (sso.manage); chat events given up "
        "on in the last day and people without 2FA where it is required (org.manage); mail "
        "given up on in the last week or waiting over 30 minutes (users.invite). 403 for a "
        "caller holding none of these permissions.",
        responses=errors(401, 403),
    )
    async def attention(self, me: Me, rt: Rt) -> AttentionList:
        return await service.attention(rt, me)
