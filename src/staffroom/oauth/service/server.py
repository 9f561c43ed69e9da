"""authlib's framework-agnostic authorization server (RFC 6749) wired to our tables: the
authorization-code grant with PKCE (RFC 7636, S256 only), rotating refresh tokens, client
credentials, revocation (RFC 7009) and introspection (RFC 7662). authlib parses and
checks every protocol message; this module only answers its questions from the database.

Threading: authlib is synchronous and calls these hooks in the middle of its flow, while
our database is async on the event loop. So each flow runs in a worker thread
(`asyncio.to_thread`, see flows.py) and every hook runs its query on the loop and waits
for it there (`run_coroutine_threadsafe`). The loop never blocks, the flow stays
authlib's own from parsing to response, and one-time things are still redeemed by one
conditional UPDATE inside the hook that needs it (a code, a refresh token).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Payload, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from staffroom.accounts.service.api_keys import SCOPES
from staffroom.core import audit
from staffroom.core.context import RequestContext
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token
from staffroom.oauth.service import store
from staffroom.oauth.service.models import SECRET_METHODS, Client, Code, Person, Token, beyond
from staffroom.oauth.tables import OAuthGrant

T = TypeVar("T")


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as the controllers hand it over (no framework types): its URL on
    our public address, its headers (case-insensitive), query and form pairs in order, and
    which of the two holds the OAuth parameters: the query for an authorization request,
    the form body for the token, revocation and introspection endpoints (never both, so
    no secret is ever read from a URL)."""

    method: str
    url: str
    headers: Mapping[str, str]
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)
    source: Literal["query", "form"] = "form"


class _Payload(OAuth2Payload):
    """The parameters authlib reads (HttpRequest.source says where they come from)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        # Repeated parameters are refused by authlib from `datalist`; `data` has the first.
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class _Request(OAuth2Request):
    def __init__(self, http: HttpRequest) -> None:
        super().__init__(http.method, http.url, headers=http.headers)
        self._args = _Payload(http.query).data
        self._form = _Payload(http.form).data
        self.payload = _Payload(http.form if http.source == "form" else http.query)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class S256Challenge(CodeChallenge):
    """PKCE with S256 only (`plain` and a missing method are refused), required of public
    clients when they ask for a code, not only when they redeem it."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") and not grant.client.confidential:
            raise InvalidRequestError("PKCE is required: send code_challenge with S256.")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*SECRET_METHODS, "none"]

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        person: Person | None = self.request.user
        too_much = beyond(scope_to_list(self.request.scope), person.permissions) if person else []
        if too_much:
            # Nobody hands an app more than they may do themselves.
            raise InvalidScopeError(
                f"The signed-in person may not grant: {' '.join(too_much)}.",
                redirect_uri=redirect_uri,
            )
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        client: Client = request.client
        values = {
            "org": client.org_id,
            "client": client.id,
            "user": request.user.id,
            "redirect_uri": request.payload.redirect_uri,
            "scopes": scope_to_list(request.scope),
            "code_challenge": request.payload.data.get("code_challenge") or "",
            "code_challenge_method": request.payload.data.get("code_challenge_method") or "",
        }
        server: Server = self.server
        server.run(store.save_code(server.rt, code, values))

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        server: Server = self.server
        outcome, row = server.run(store.claim_code(server.rt, code, client.id))
        if outcome == "reused":
            # RFC 6749 4.1.2: a code used twice revokes what it gave.
            where = OAuthGrant.code == row["id"]
            server.run(store.revoke_grants(where, "code_reuse"))
            server.record("oauth.code_reuse", client, outcome="denied", user_id=row["user"])
            raise InvalidGrantError("This code was used before: the tokens it gave are revoked.")
        if outcome == "expired":
            raise InvalidGrantError("This code has expired.")
        return Code(row) if outcome == "ok" else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Kept, marked used: a second use must be recognised (and revoke the tokens)."""

    def authenticate_user(self, authorization_code: Code) -> Person | None:
        server: Server = self.server
        return server.person(self.request.client, authorization_code.user_id)


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [*SECRET_METHODS, "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh token works once

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        server: Server = self.server
        client: Client = self.request.client
        owner = server.run(store.refresh_grant(server.rt, refresh_token))
        if owner is None or owner["client"] != client.id:
            return None  # another client's token is not even touched
        claimed = server.run(store.claim_refresh(server.rt, refresh_token))
        if claimed is None:
            return None
        if claimed.reused:
            server.run(store.revoke_grants(OAuthGrant.id == claimed.family, "refresh_reuse"))
            server.record("oauth.refresh_reuse", client, outcome="denied", user_id=owner["user"])
            raise InvalidGrantError("This refresh token was used before: the grant is revoked.")
        token = Token(owner, "refresh_token")
        return None if token.is_revoked() or token.is_expired() else token

    def authenticate_user(self, refresh_token: Token) -> Person | None:
        server: Server = self.server
        return server.person(self.request.client, refresh_token.user_id)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Nothing to do: claiming the token marked it used."""


class CredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(SECRET_METHODS)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        server: Server = self.server
        client: Client = self.request.client
        creator = server.person(client, client.row["created_by"])
        if creator is None:
            raise UnauthorizedClientError("The person who registered this client is inactive.")
        asked = scope_to_list(self.request.payload.scope) or client.scopes
        too_much = beyond(asked, creator.permissions)
        if too_much:
            raise InvalidScopeError(f"Beyond the rights of its creator: {' '.join(too_much)}.")


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = [*SECRET_METHODS, "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        server: Server = self.server
        return server.token(token_string)

    def revoke_token(self, token: Token, request: Any) -> None:
        server: Server = self.server
        server.run(store.revoke_grants(OAuthGrant.id == token.grant_id, "client_revoked"))
        server.record("oauth.token_revoked", request.client, user_id=token.user_id)


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = list(SECRET_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        server: Server = self.server
        return server.token(token_string)

    def check_permission(self, token: Token, client: Client, request: Any) -> bool:
        # A client learns about its own tokens only; any other is simply not active.
        return token.check_client(client)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        grant = token.grant
        body = {
            "active": True,
            "client_id": str(grant["client"]),
            "scope": token.get_scope(),
            "exp": int(token.expires_at().timestamp()),
            "iss": self.server.rt.settings.public_url.rstrip("/"),
        }
        if token.kind == "access_token":
            body["token_type"] = "Bearer"  # noqa: S105 - a token type, not a secret
        if grant["user"] is not None:
            body["sub"] = str(grant["user"])
        return body


class Server(AuthorizationServer):
    """One request's authorization server: built per request (registering the grants is a
    few list appends) so that it knows the caller's org, the loop and the request's context."""

    def __init__(
        self, rt: Runtime, ctx: RequestContext, *, org_id: uuid.UUID | None = None
    ) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.rt, self.ctx, self.org_id = rt, ctx, org_id
        self.loop = asyncio.get_running_loop()
        # The client the request named, once found: failures are audited in its org.
        self.client_seen: Client | None = None
        ttl = rt.settings.oauth_access_token_ttl
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_: store.ACCESS_PREFIX + new_token(),
                lambda **_: store.REFRESH_PREFIX + new_token(),
                expires_generator=ttl,
            ),
        )
        self.register_grant(CodeGrant, [S256Challenge(required=True)])
        self.register_grant(RefreshGrant)
        self.register_grant(CredentialsGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a query on the event loop and wait for it (this is the worker thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def record(
        self, action: str, client: Client, *, outcome: str = "success", **details: Any
    ) -> None:
        """An audit event in the client's org, acted by the client."""
        user_id = details.pop("user_id", None)
        event = audit.record(
            action,
            outcome=outcome,
            ctx=self.ctx,
            org_id=client.org_id,
            actor_type="oauth_client",
            actor_id=client.id,
            target_type="user" if user_id else "oauth_client",
            target_id=user_id or client.id,
            details={"client_name": client.name, **details},
        )
        self.run(event)

    def person(self, client: Client, user_id: uuid.UUID | None) -> Person | None:
        """The active person a grant acts for, looked up in the client's org."""
        row = self.run(store.active_user(client.org_id, user_id))
        return Person(row["id"], row["org"], row["permissions"]) if row else None

    def token(self, token_string: str) -> Token | None:
        found = self.run(store.grant_by_token(self.rt, token_string))
        return Token(found[1], found[0]) if found else None

    def query_client(self, client_id: str) -> Client | None:
        parsed = store.parse_id(client_id)
        row = self.run(store.client(parsed, self.org_id)) if parsed else None
        if row is None or row["disabled_at"] is not None:
            return None
        self.client_seen = Client(row, lambda secret: store.digest(self.rt, secret, "secret"))
        return self.client_seen

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        grant_type = request.payload.grant_type
        client: Client = request.client
        user_id = request.user.id if request.user else None
        if grant_type == "refresh_token":
            self.run(store.rotate(self.rt, request.refresh_token.grant_id, token))
            self.record("oauth.token_refreshed", client, user_id=user_id)
            return
        code = request.authorization_code
        self.run(
            store.new_grant(
                self.rt,
                client.row,
                user_id=user_id,
                code_id=code.id if code else None,
                grant_type=grant_type,
                token=token,
            )
        )
        self.record("oauth.token_issued", client, user_id=user_id, grant_type=grant_type)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else _Request(request)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Any:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signals: nothing listens (audit events are recorded by the hooks)."""
