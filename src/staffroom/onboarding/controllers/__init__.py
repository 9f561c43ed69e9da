"""HTTP routes of onboarding (HTTP only: every rule is in the service)."""

from staffroom.onboarding.controllers.codes import (
    AccessCodesController,
    PublicAccessCodesController,
)
from staffroom.onboarding.controllers.domains import DomainsController
from staffroom.onboarding.controllers.invites import InvitesController, PublicInvitesController
from staffroom.onboarding.controllers.person import PersonOnboardingController
from staffroom.onboarding.controllers.signup import PublicSignupController

CONTROLLERS = [
    InvitesController,
    PublicInvitesController,
    DomainsController,
    PublicSignupController,
    AccessCodesController,
    PublicAccessCodesController,
    PersonOnboardingController,
]

__all__ = ["CONTROLLERS"]
