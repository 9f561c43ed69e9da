"""What chat asks of other domains without importing them (feeds owns media).

Registered on the app's runtime (`staffroom/wiring.py`): per app, never process-wide."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from staffroom.core.context import Principal
from staffroom.core.errors import Invalid
from staffroom.core.runtime import Runtime

# Raises Invalid unless every id is a ready file of the caller's org.
AttachmentCheck = Callable[[Runtime, Principal, list[uuid.UUID]], Awaitable[object]]


@dataclass
class ChatHooks:
    """What other domains registered with chat, in one app."""

    attachment_checks: list[AttachmentCheck] = field(default_factory=list)


def on_attachment_check(rt: Runtime, check: AttachmentCheck) -> None:
    """Register the media domain's check once (app start-up)."""
    checks = rt.part(ChatHooks).attachment_checks
    if check not in checks:
        checks.append(check)


async def check_attachment(rt: Runtime, principal: Principal, media_id: uuid.UUID) -> None:
    """Refuse an attachment that is not a ready file of the caller's org."""
    checks = rt.part(ChatHooks).attachment_checks
    if not checks:
        raise Invalid("unknown_media", "Attachments are not available.")
    for check in checks:
        await check(rt, principal, [media_id])
