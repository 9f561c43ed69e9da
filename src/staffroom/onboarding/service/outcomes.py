"""What every onboarding path shares: refusing a bad attempt, signing a new member in."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.accounts.schemas import TokenPair
from staffroom.accounts.service import sessions
from staffroom.accounts.service.lookups import org_row
from staffroom.core import audit
from staffroom.core.context import RequestContext
from staffroom.core.errors import DomainError
from staffroom.core.ratelimit import Rule
from staffroom.core.runtime import Runtime
from staffroom.onboarding.schemas import AcceptedOut


async def sign_in_new_member(rt: Runtime, user: dict[str, Any], ctx: RequestContext) -> AcceptedOut:
    """A session for a member who has just joined; MFA-enrolment only if the org requires it."""
    org = await org_row(user["org"])
    pair: TokenPair = await sessions.issue(
        rt, user, ctx, scope="enrol" if org["require_mfa"] else "full"
    )
    return AcceptedOut(**{f: getattr(pair, f) for f in pair.__struct_fields__}, user_id=user["id"])


async def refused(
    rt: Runtime,
    ctx: RequestContext,
    action: str,
    error: DomainError,
    limits: list[tuple[str, Rule]],
    org_id: uuid.UUID | None = None,
    target: tuple[str, uuid.UUID] | None = None,
    actor_id: uuid.UUID | None = None,
) -> DomainError:
    """Count a failed attempt against its limits and audit it; returns the error to raise."""
    for key, rule in limits:
        await rt.limiter.hit(key, rule)
    await audit.record(
        action,
        outcome="failure",
        ctx=ctx,
        org_id=org_id,
        actor_id=actor_id,
        target_type=target[0] if target else None,
        target_id=target[1] if target else None,
        details={"reason": error.code},
    )
    return error
