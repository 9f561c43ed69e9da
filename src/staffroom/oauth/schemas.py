"""Request and response bodies of the OAuth API (msgspec Structs). The protocol endpoints
(token, revocation, introspection, metadata) speak RFC 6749's form bodies and JSON."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from staffroom.accounts.schemas import Input, OrgRef

ClientName = Annotated[str, Meta(min_length=1, max_length=120)]
RedirectUris = Annotated[list[Annotated[str, Meta(max_length=500)]], Meta(max_length=10)]
Scopes = Annotated[list[Annotated[str, Meta(max_length=40)]], Meta(min_length=1, max_length=20)]


class OAuthClientIn(Input):
    name: ClientName
    # confidential: a server that keeps a secret; public: an app on a device or in a
    # browser (no secret: PKCE proves the code)
    kind: Literal["confidential", "public"]
    scopes: Scopes
    redirect_uris: RedirectUris = msgspec.field(default_factory=list)


class OAuthClientPatch(Input):
    name: ClientName | UnsetType = UNSET
    redirect_uris: RedirectUris | UnsetType = UNSET
    scopes: Scopes | UnsetType = UNSET


class OAuthClientOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    # What the app sends as client_id (the same id, as text)
    client_id: str
    name: str
    kind: Literal["confidential", "public"]
    redirect_uris: list[str]
    scopes: list[str]
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime
    disabled: bool
    # People (and for client credentials, the client itself) with live tokens
    active_grants: int
    last_used_at: datetime | None


class OAuthClientCreated(msgspec.Struct, kw_only=True):
    client: OAuthClientOut
    # Shown once (confidential clients): only its digest is stored. null for public clients.
    client_secret: str | None


class OAuthSecret(msgspec.Struct, kw_only=True):
    client_secret: str


class OAuthAppRef(msgspec.Struct, kw_only=True):
    client_id: str
    name: str


class AuthorizePrompt(msgspec.Struct, kw_only=True):
    """What the consent page shows: the app, the org, each scope asked for."""

    client: OAuthAppRef
    org: OrgRef
    scopes: list[str]
    redirect_uri: str
    # The person allowed this app all of these scopes before: no need to ask again.
    remembered: bool


class AuthorizeCheck(msgspec.Struct, kw_only=True):
    # Set when the request is refused in a way the app must hear of (RFC 6749 4.1.2.1):
    # send the browser there at once. Otherwise `prompt` says what to ask.
    redirect_to: str | None = None
    prompt: AuthorizePrompt | None = None


class AuthorizeDecision(Input):
    approve: bool


class AuthorizeOut(msgspec.Struct, kw_only=True):
    # Where to send the browser: the app's redirect URI with `code` (or `error`) and `state`
    redirect_to: str


class ConnectedApp(msgspec.Struct, kw_only=True):
    client_id: str
    name: str
    scopes: list[str]
    granted_at: datetime
    last_used_at: datetime | None
