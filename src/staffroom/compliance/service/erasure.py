"""GDPR erasure (Art. 17): an admin erases a person; personal data is deleted or
anonymised, every credential and realtime token revoked, their media deleted; what they
wrote in others' conversations stays readable, shown as from a deleted user. The erasure
goes into the ledger, and `reapply` erases again whoever a restored backup brings back."""

from __future__ import annotations

import uuid

from staffroom.accounts.service import hooks, sessions
from staffroom.accounts.tables import (
    EmailChange,
    GroupMember,
    OneTimeToken,
    RecoveryCode,
    TotpFactor,
    User,
)
from staffroom.chat.tables import DeviceToken, Member
from staffroom.compliance.service import ledger
from staffroom.compliance.tables import Erasure
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Conflict, Forbidden, NotFound
from staffroom.core.runtime import Runtime
from staffroom.feeds.tables import Acknowledgement, Media, PostRead, Reaction, ReadTally
from staffroom.oauth.service import personal as oauth_personal
from staffroom.sso.tables import SsoIdentity

ERASED_NAME = "Deleted user"
# Rows that are about the person only: deleted outright.
_PERSONAL = (
    TotpFactor,
    RecoveryCode,
    OneTimeToken,
    EmailChange,
    GroupMember,
    SsoIdentity,
    Reaction,
    PostRead,
    ReadTally,  # their counts of those reads
    Acknowledgement,
    Member,
    DeviceToken,
    # The apps they allowed and what those apps held for them (revoked just before, by
    # the deactivation hook): consents, grants with their refresh tokens, codes.
    *oauth_personal.PERSONAL,
)


async def erase(
    rt: Runtime, principal: Principal, user_id: uuid.UUID, reason: str, ctx: RequestContext
) -> None:
    """Erase one person of the caller's org, for a stated reason."""
    target = (
        await User.select().where((User.id == user_id) & (User.org == principal.org_id)).first()
    )
    if target is None:
        raise NotFound("user_not_found", "No such user.")
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
    await sessions.revoke_user(rt, user_id, "erased")
    # Invites, access codes, chat tokens and API keys end as on deactivation.
    await hooks.deactivated(rt, org_id, user_id)
    for row in await Media.select().where((Media.uploader == user_id) & (Media.org == org_id)):
        await rt.blobs.delete(row["key"])
        await Media.delete().where(Media.id == row["id"])
    for table in _PERSONAL:
        await table.delete().where(table.user == user_id)
    now = clock.utcnow()
    await User.update(
        {
            User.status: "erased",
            User.display_name: ERASED_NAME,
            User.email: None,
            User.email_verified_at: None,
            User.username: None,
            User.employee_id: None,
            User.password_hash: None,
            User.last_login_at: None,
            User.sso_break_glass: False,
            User.deactivated_at: now,
            User.updated_at: now,
        }
    ).where((User.id == user_id) & (User.org == org_id))


async def reapply(rt: Runtime) -> int:
    """After a restore: erase again everyone in the ledger the database brought back."""
    again = 0
    for org_id, user_id in await ledger.entries(rt):
        row = await User.select(User.status).where(User.id == user_id).first()
        if row is None or row["status"] == "erased":
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
