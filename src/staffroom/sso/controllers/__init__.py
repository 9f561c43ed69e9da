"""HTTP routes of single sign-on (HTTP only: every rule is in the service)."""

from litestar import Router

from staffroom.sso.controllers.admin import SsoAdminController
from staffroom.sso.controllers.browser import (
    OidcBrowserController,
    SamlBrowserController,
    SsoAuthController,
)

# One router for the domain: the API's path prefix is said here, once.
ROUTER = Router(path="/api/v1", route_handlers=[SsoAuthController, SsoAdminController])
# What the IdP and the browser reach outside the API (/sso/{org}/saml/..., /sso/{org}/oidc/...).
BROWSER_CONTROLLERS = [SamlBrowserController, OidcBrowserController]

__all__ = ["BROWSER_CONTROLLERS", "ROUTER"]
