"""Hooks other domains register on accounts events (accounts must not import them)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

# Called with (org_id, user_id) after a user is deactivated: onboarding revokes the
# user's pending invites and unredeemed codes.
DeactivationHook = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]
deactivation_hooks: list[DeactivationHook] = []


def on_deactivation(hook: DeactivationHook) -> None:
    """Register a hook once."""
    if hook not in deactivation_hooks:
        deactivation_hooks.append(hook)
