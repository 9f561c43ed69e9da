"""HTTP routes of onboarding (HTTP only: every rule is in the service)."""

from litestar import Router

from staffroom.onboarding.controllers.codes import (
    AccessCodesController,
    PublicAccessCodesController,
)
from staffroom.onboarding.controllers.domains import DomainsController
from staffroom.onboarding.controllers.invites import InvitesController, PublicInvitesController
from staffroom.onboarding.controllers.person import PersonOnboardingController
from staffroom.onboarding.controllers.signup import PublicSignupController

# One router for the domain: the API's path prefix is said here, once.
ROUTER = Router(
    path="/api/v1",
    route_handlers=[
        InvitesController,
        PublicInvitesController,
        DomainsController,
        PublicSignupController,
        AccessCodesController,
        PublicAccessCodesController,
        PersonOnboardingController,
    ],
)

__all__ = ["ROUTER"]
