"""GDPR erasure (Art. 17): an admin erases a person; personal data is deleted or
anonymised, every credential and realtime token revoked, their media deleted; what they
wrote in others' conversations stays readable, shown as from a deleted user. The erasure
goes into the ledger, and `reapply` erases again whoever a restored backup brings back."""

from __future__ import annotations

import uuid

from staffroom.accounts.service import hooks, lookups, sessions
from staffroom.compliance.service import ledger
from staffroom.compliance.tables import Erasure
from staffroom.core import audit, clock, personal_data
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Conflict, Forbidden, NotFound
from staffroom.core.runtime import Runtime


async def erase(
    rt: Runtime, principal: Principal, user_id: uuid.UUID, reason: str, ctx: RequestContext
) -> None:
    """Erase one person of the caller's org, for a stated reason."""
    target = await lookups.user_in_org(principal.org_id, user_id)  # another org's: 404
    if user_id == principal.user_id:
        raise Forbidden("erase_self", "Ask another administrator to erase your account.")
    if target["role"] == "owner" and principal.role != "owner":
        raise Forbidden("owner_only", "Only an owner can erase an owner.")
    if target["status"] == "erased":
        raise Conflict("already_erased", "This person's data was already erased.")
    now = clock.utcnow()
    await apply(rt, principal.org_id, user_id)
    await Erasure.insert(
        Erasure(
            id=uuid.uuid4(),
            org=principal.org_id,
            user_id=user_id,
            erased_by=principal.user_id,
            reason=reason,
            erased_at=now,
        )
    )
    await ledger.write(rt, principal.org_id, user_id, now)
    await audit.by(principal, ctx, "user.erased", ("user", user_id), {"reason": reason})


async def apply(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The erasure itself (idempotent): used when erasing and when re-applying."""
    holders = personal_data.holders(rt)  # refused before anything is touched when none
    await sessions.revoke_user(rt, user_id, "erased")
    # Invites, access codes, chat tokens and API keys end as on deactivation.
    await hooks.deactivated(rt, org_id, user_id)
    # What each domain holds (core/personal_data.py), the first registered (accounts,
    # which marks the person erased) last: a failure midway leaves an erasure to re-run.
    for holder in reversed(holders):
        await holder.erase(rt, org_id, user_id)


async def reapply(rt: Runtime) -> int:
    """After a restore: erase again everyone in the ledger the database brought back."""
    again = 0
    for org_id, user_id in await ledger.entries(rt):
        try:
            row = await lookups.user_in_org(org_id, user_id)
        except NotFound:
            continue  # not in this database (restored from before they joined)
        if row["status"] == "erased":
            continue
        await apply(rt, org_id, user_id)
        await audit.record(
            "user.erasure_reapplied",
            actor_type="system",
            org_id=org_id,
            target_type="user",
            target_id=user_id,
        )
        again += 1
    return again
