"""HTTP controllers of accounts: parse, call one service function, return a schema."""

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

CONTROLLERS = [
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
]

__all__ = ["CONTROLLERS"]
