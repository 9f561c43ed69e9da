"""One-time tokens of accounts (setup and reset links, the MFA step of a login): stored as
digests, used up by one conditional UPDATE (rule 7)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from staffroom.accounts.tables import OneTimeToken
from staffroom.core import clock
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token


async def new(rt: Runtime, user: dict[str, Any], purpose: str, ttl: int) -> str:
    """A one-time token for the user (stored as its digest), valid for `ttl` seconds."""
    token = new_token()
    now = clock.utcnow()
    await OneTimeToken.insert(
        OneTimeToken(
            id=uuid.uuid4(),
            org=user["org"],
            user=user["id"],
            purpose=purpose,
            token_hash=rt.keys.digest(token, purpose=purpose),
            expires_at=now + timedelta(seconds=ttl),
            created_at=now,
        )
    )
    return token


async def consume(token_id: uuid.UUID) -> bool:
    """Mark a one-time token used; True for exactly one concurrent caller."""
    rows = (
        await OneTimeToken.update({OneTimeToken.used_at: clock.utcnow()})
        .where((OneTimeToken.id == token_id) & OneTimeToken.used_at.is_null())
        .returning(OneTimeToken.id)
    )
    return bool(rows)
