"""All business rules of accounts; never imports Litestar."""

from staffroom.accounts.service import (
    audit_log,
    auth,
    groups,
    hooks,
    members,
    mfa,
    orgs,
    roles,
    sessions,
    users,
)

__all__ = [
    "audit_log",
    "auth",
    "groups",
    "hooks",
    "members",
    "mfa",
    "orgs",
    "roles",
    "sessions",
    "users",
]
