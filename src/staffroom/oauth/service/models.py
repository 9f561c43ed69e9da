"""Our rows as authlib's models: a client, an authorization code, a token of a grant."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list

from staffroom.accounts.service.api_keys import SCOPES
from staffroom.core import clock

# How a confidential client proves itself; a public one sends its id alone ("none") and
# proves the code with PKCE.
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


def permissions_of(scopes: list[str]) -> frozenset[str]:
    """The permissions a set of scopes grants (the API keys' scopes: one vocabulary)."""
    return frozenset().union(*(SCOPES[s][0] for s in scopes if s in SCOPES))


def beyond(scopes: list[str], rights: frozenset[str]) -> list[str]:
    """The scopes asking for more than these rights."""
    return sorted(s for s in scopes if s in SCOPES and not SCOPES[s][0] <= rights)


@dataclass(frozen=True)
class Person:
    """The signed-in person deciding on a request (authlib's "user")."""

    id: uuid.UUID
    org_id: uuid.UUID
    permissions: frozenset[str]


class Client(ClientMixin):
    """A registered client; `check_secret` compares a secret's digest with the stored one."""

    def __init__(self, row: dict[str, Any], secret_digest: Callable[[str], str]) -> None:
        self.row = row
        self.id: uuid.UUID = row["id"]
        self.org_id: uuid.UUID = row["org"]
        self.name: str = row["name"]
        self.confidential: bool = row["kind"] == "confidential"
        self.scopes: list[str] = list(row["scopes"])
        self.redirect_uris: list[str] = list(row["redirect_uris"])
        self._digest = secret_digest

    def get_client_id(self) -> str:
        return str(self.id)

    def get_default_redirect_uri(self) -> None:
        # Every authorization request names its redirect URI, compared exactly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """None (invalid_scope) when any scope asked for is not the client's; no scope
        asked for means all of the client's."""
        if not scope:
            return str(list_to_scope(sorted(self.scopes)))
        asked = set(scope_to_list(scope))
        if not asked <= set(self.scopes):
            return None
        return str(list_to_scope(sorted(asked)))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.row["secret_hash"]
        return bool(stored) and hmac.compare_digest(stored, self._digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "introspection":
            return bool(self.confidential and method in SECRET_METHODS)
        return method in SECRET_METHODS if self.confidential else method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            return self.confidential
        return grant_type in ("authorization_code", "refresh_token")


class Code(AuthorizationCodeMixin):
    """A redeemed authorization code."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.id: uuid.UUID = row["id"]
        self.user_id: uuid.UUID = row["user"]
        # Read by authlib's CodeChallenge (RFC 7636).
        self.code_challenge: str = row["code_challenge"]
        self.code_challenge_method: str = row["code_challenge_method"]

    def get_redirect_uri(self) -> str:
        return str(self.row["redirect_uri"])

    def get_scope(self) -> str:
        return str(list_to_scope(self.row["scopes"]))


class Token(TokenMixin):
    """An access or refresh token: both stand for their grant."""

    def __init__(self, grant: dict[str, Any], kind: str) -> None:
        self.grant = grant
        self.kind = kind  # access_token | refresh_token
        self.grant_id: uuid.UUID = grant["id"]
        self.user_id: uuid.UUID | None = grant["user"]

    def check_client(self, client: Client) -> bool:
        return bool(self.grant["client"] == client.id)

    def get_scope(self) -> str:
        key = "access_scopes" if self.kind == "access_token" else "scopes"
        return str(list_to_scope(self.grant[key]))

    def get_expires_in(self) -> int:
        left = self.expires_at() - clock.utcnow()
        return max(0, int(left.total_seconds()))

    def expires_at(self) -> Any:
        """When this token stops working (a refresh token at its grant's idle or absolute end)."""
        if self.kind == "access_token":
            return self.grant["access_expires_at"]
        return min(self.grant["idle_expires_at"], self.grant["absolute_expires_at"])

    def is_expired(self) -> bool:
        return bool(self.expires_at() <= clock.utcnow())

    def is_revoked(self) -> bool:
        return self.grant["revoked_at"] is not None

    def get_user(self) -> uuid.UUID | None:
        return self.user_id

    def get_client(self) -> Any:
        return self.grant["client"]
