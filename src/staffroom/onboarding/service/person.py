"""One person's onboarding, for their page in the admin console: what deactivating or
erasing them would withdraw."""

from __future__ import annotations

import uuid

from staffroom.accounts.service.lookups import user_in_org
from staffroom.core import clock
from staffroom.core.context import Principal
from staffroom.onboarding.schemas import PersonOnboardingOut
from staffroom.onboarding.service import codes
from staffroom.onboarding.service.invites import invite_out
from staffroom.onboarding.tables import Invite

# A person page shows the first ones; the invitations and codes sections list them all.
SHOWN = 50


async def for_person(principal: Principal, user_id: uuid.UUID) -> PersonOnboardingOut:
    """Invitations to the person's address, their pending invitations to others (a count)
    and the codes bound to them, newest first."""
    user = await user_in_org(principal.org_id, user_id)
    now = clock.utcnow()
    received = (
        await Invite.select()
        .where((Invite.org == principal.org_id) & (Invite.email == user["email"]))
        .order_by(Invite.created_at, ascending=False)
        .limit(SHOWN)
        .output(load_json=True)
        if user["email"]
        else []
    )
    sent = await Invite.count().where(
        (Invite.org == principal.org_id)
        & (Invite.invited_by == user_id)
        & (Invite.status == "pending")
        & (Invite.expires_at > now)
    )
    bound = await codes.list_codes(principal, None, None, None, SHOWN, bound_user=user_id)
    return PersonOnboardingOut(
        invites=[invite_out(r, now) for r in received],
        invites_sent_pending=sent,
        codes=bound.items,
    )
