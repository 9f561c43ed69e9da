"""Who is asking and from where: passed from controllers into services for audit and limits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    """Network facts of one request."""

    ip: str = ""
    user_agent: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user session, or an API key acting for its creator."""

    org_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    permissions: frozenset[str]
    session_id: uuid.UUID | None = None
    # "full", "enrol" for a session that may only set up MFA (org requires MFA), or
    # "api_key" for an integration (its scopes' routes only)
    scope: str = "full"
    api_key_id: uuid.UUID | None = None

    def can(self, permission: str) -> bool:
        """Whether the caller holds a named permission."""
        return permission in self.permissions
