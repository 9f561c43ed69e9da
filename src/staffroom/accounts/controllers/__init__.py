"""HTTP controllers of accounts: parse, call one service function, return a schema."""

from litestar import Router

from staffroom.accounts.controllers.admin import (
    AuditController,
    GroupsController,
    OrgController,
    RolesController,
    UsersController,
)
from staffroom.accounts.controllers.api_keys import ApiKeysController
from staffroom.accounts.controllers.auth import AuthController
from staffroom.accounts.controllers.me import MeController
from staffroom.accounts.controllers.security import (
    AuditVerificationController,
    OrgSecurityController,
    PersonAccessController,
)

# One router for the domain: the API's path prefix is said here, once.
ROUTER = Router(
    path="/api/v1",
    route_handlers=[
        AuthController,
        MeController,
        UsersController,
        GroupsController,
        OrgController,
        RolesController,
        AuditController,
        ApiKeysController,
        PersonAccessController,
        OrgSecurityController,
        AuditVerificationController,
    ],
)

__all__ = ["ROUTER"]
