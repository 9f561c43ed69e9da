"""What every onboarding path does once a new member exists: sign them in."""

from __future__ import annotations

from typing import Any

from staffroom.accounts.schemas import TokenPair
from staffroom.accounts.service import sessions
from staffroom.accounts.service.common import org_row
from staffroom.core.context import RequestContext
from staffroom.core.runtime import Runtime
from staffroom.onboarding.schemas import AcceptedOut


async def sign_in_new_member(rt: Runtime, user: dict[str, Any], ctx: RequestContext) -> AcceptedOut:
    """A session for a member who has just joined; MFA-enrolment only if the org requires it."""
    org = await org_row(user["org"])
    pair: TokenPair = await sessions.issue(
        rt, user, ctx, scope="enrol" if org["require_mfa"] else "full"
    )
    return AcceptedOut(**{f: getattr(pair, f) for f in pair.__struct_fields__}, user_id=user["id"])
