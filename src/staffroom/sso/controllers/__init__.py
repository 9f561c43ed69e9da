"""HTTP routes of single sign-on (HTTP only: every rule is in the service)."""

from staffroom.sso.controllers.admin import SsoAdminController
from staffroom.sso.controllers.browser import (
    OidcBrowserController,
    SamlBrowserController,
    SsoAuthController,
)

CONTROLLERS = [SamlBrowserController, OidcBrowserController, SsoAuthController, SsoAdminController]

__all__ = ["CONTROLLERS"]
