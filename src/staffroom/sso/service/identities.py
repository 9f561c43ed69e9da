"""The IdP identities linked to a person, for the admin's view of how they sign in."""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.sso.tables import SsoIdentity


async def linked(org_id: uuid.UUID, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each IdP that knows this person (by name, never the NameID), oldest link first."""
    rows = await (
        SsoIdentity.select(
            SsoIdentity.idp.name.as_alias("idp"),
            SsoIdentity.created_at,
            SsoIdentity.last_login_at,
        )
        .where((SsoIdentity.org == org_id) & (SsoIdentity.user == user_id))
        .order_by(SsoIdentity.created_at)
    )
    return [
        {"idp": r["idp"], "linked_at": r["created_at"], "last_login_at": r["last_login_at"]}
        for r in rows
    ]
