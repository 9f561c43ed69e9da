"""HTTP route of one person's onboarding (their page in the admin console)."""

from __future__ import annotations

import uuid

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from staffroom.accounts.guards import requires
from staffroom.core.context import Principal
from staffroom.core.web import errors
from staffroom.onboarding.schemas import PersonOnboardingOut
from staffroom.onboarding.service import person


class PersonOnboardingController(Controller):
    path = "/api/v1/users/{user_id:uuid}/onboarding"
    tags = ["invites"]
    security = [{"bearer": []}]

    @get(
        "",
        operation_id="get_user_onboarding",
        summary="A user's invitations, pending invitations they sent, and codes bound to them",
        guards=[requires("users.invite")],
        responses=errors(401, 403, 404),
    )
    async def get_onboarding(
        self, user_id: FromPath[uuid.UUID], me: NamedDependency[Principal]
    ) -> PersonOnboardingOut:
        return await person.for_person(me, user_id)
