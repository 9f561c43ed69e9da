"""Hooks other domains register on accounts events (accounts must not import them)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

# Called with (org_id, user_id) after a user is deactivated: onboarding revokes the
# user's pending invites and unredeemed codes.
DeactivationHook = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]
deactivation_hooks: list[DeactivationHook] = []


# Called with org ids during discovery: single sign-on adds "saml" for orgs with an IdP.
LoginMethods = Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, list[str]]]]
login_method_providers: list[LoginMethods] = []


def on_login_methods(provider: LoginMethods) -> None:
    """Register a provider of extra login methods once."""
    if provider not in login_method_providers:
        login_method_providers.append(provider)


def on_deactivation(hook: DeactivationHook) -> None:
    """Register a hook once."""
    if hook not in deactivation_hooks:
        deactivation_hooks.append(hook)


# Called with (org_id, user_id) for an admin's view of a person's sign-in methods: single
# sign-on lists the IdP identities linked to them (idp, linked_at, last_login_at).
SsoLinks = Callable[[uuid.UUID, uuid.UUID], Awaitable[list[dict[str, Any]]]]
sso_link_providers: list[SsoLinks] = []


def on_sso_links(provider: SsoLinks) -> None:
    """Register a provider of a person's linked IdP identities once."""
    if provider not in sso_link_providers:
        sso_link_providers.append(provider)


# Bearer tokens of other domains (OAuth access tokens): (is_mine, authenticate) where
# authenticate(runtime, token, ctx) gives the Principal and its rate-limit bucket, or None.
BearerResolver = tuple[
    Callable[[str], bool], Callable[[Any, str, Any], Awaitable[tuple[Any, str] | None]]
]
bearer_resolvers: list[BearerResolver] = []


def on_bearer_token(resolver: BearerResolver) -> None:
    """Register how to recognise and resolve another kind of bearer token, once."""
    if resolver not in bearer_resolvers:
        bearer_resolvers.append(resolver)
