"""Hooks other domains register on accounts events (accounts must not import them).

They are per app: registered on the app's runtime (`staffroom/wiring.py`), read from it
here, so two apps in one process never call each other's."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from staffroom.core import realtime
from staffroom.core.runtime import Runtime

# Called with (org_id, user_id) after a user is deactivated (and when one is erased):
# onboarding revokes the user's pending invites and unredeemed codes, chat their PubNub
# tokens, accounts their API keys.
DeactivationHook = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]

# Called with org ids during discovery: single sign-on adds "saml" and/or "oidc" (the
# protocols of an org's enabled IdPs).
LoginMethods = Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, list[str]]]]

# Called with (org_id, user_id) for an admin's view of a person's sign-in methods: single
# sign-on lists the IdP identities linked to them (idp, linked_at, last_login_at).
SsoLinks = Callable[[uuid.UUID, uuid.UUID], Awaitable[list[dict[str, Any]]]]

# Bearer tokens of other domains (OAuth access tokens): (is_mine, authenticate) where
# authenticate(runtime, token, ctx) gives the Principal and its rate-limit bucket
# ((key, bucket) as `RateLimiter.take` takes them), or None.
BearerResolver = tuple[
    Callable[[str], bool], Callable[[Any, str, Any], Awaitable[tuple[Any, Any] | None]]
]


@dataclass
class AccountsHooks:
    """What other domains registered with accounts, in one app."""

    deactivation: list[DeactivationHook] = field(default_factory=list)
    login_methods: list[LoginMethods] = field(default_factory=list)
    sso_links: list[SsoLinks] = field(default_factory=list)
    bearer: list[BearerResolver] = field(default_factory=list)


def of(rt: Runtime) -> AccountsHooks:
    """This app's hooks."""
    return rt.part(AccountsHooks)


def on_login_methods(rt: Runtime, provider: LoginMethods) -> None:
    """Register a provider of extra login methods once."""
    if provider not in of(rt).login_methods:
        of(rt).login_methods.append(provider)


def on_deactivation(rt: Runtime, hook: DeactivationHook) -> None:
    """Register a hook once."""
    if hook not in of(rt).deactivation:
        of(rt).deactivation.append(hook)


def on_sso_links(rt: Runtime, provider: SsoLinks) -> None:
    """Register a provider of a person's linked IdP identities once."""
    if provider not in of(rt).sso_links:
        of(rt).sso_links.append(provider)


async def deactivated(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Run every deactivation hook, one after the other, before the caller answers: what
    they revoke must be gone when an admin is told the person is deactivated."""
    # Every worker forgets the person, whichever of their sessions it kept (their sessions'
    # revocation says so too; this also covers a caller that ends no session itself).
    await realtime.announce_principals_changed(rt.relay, org_id, user_ids=[user_id])
    for hook in of(rt).deactivation:
        await hook(org_id, user_id)


def on_bearer_token(rt: Runtime, resolver: BearerResolver) -> None:
    """Register how to recognise and resolve another kind of bearer token, once."""
    if resolver not in of(rt).bearer:
        of(rt).bearer.append(resolver)
