"""Single sign-on's share of a person's GDPR erasure (see core/personal_data.py): the
identities linking them to their org's IdPs. The export has no file of them yet (it
never had; adding one is a change of the export's contents, left for its own issue)."""

from __future__ import annotations

import uuid

from staffroom.core.personal_data import Listing
from staffroom.core.runtime import Runtime
from staffroom.sso.tables import SsoIdentity


async def export_for(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> list[Listing]:
    """Nothing yet (see above)."""
    return []


async def erase(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Their linked IdP identities: a later sign-in at the IdP cannot find the account."""
    await SsoIdentity.delete().where(SsoIdentity.user == user_id)
