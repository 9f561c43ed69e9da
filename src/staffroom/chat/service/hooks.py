"""What chat asks of other domains without importing them (feeds owns media)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from staffroom.core.context import Principal
from staffroom.core.errors import Invalid

# Raises Invalid unless every id is a ready file of the caller's org.
AttachmentCheck = Callable[[Principal, list[uuid.UUID]], Awaitable[object]]
_checks: list[AttachmentCheck] = []


def on_attachment_check(check: AttachmentCheck) -> None:
    """Register the media domain's check once (app start-up)."""
    if check not in _checks:
        _checks.append(check)


async def check_attachment(principal: Principal, media_id: uuid.UUID) -> None:
    """Refuse an attachment that is not a ready file of the caller's org."""
    if not _checks:
        raise Invalid("unknown_media", "Attachments are not available.")
    for check in _checks:
        await check(principal, [media_id])
