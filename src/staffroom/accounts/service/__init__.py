"""All business rules of accounts; never imports Litestar."""

from staffroom.accounts.service import (
    audit_log,
    auth,
    groups,
    mfa,
    orgs,
    roles,
    sessions,
    users,
)

__all__ = ["audit_log", "auth", "groups", "mfa", "orgs", "roles", "sessions", "users"]
