"""OAuth's share of a person's GDPR export and erasure (see core/personal_data.py): the apps they
allowed (consents) and the grants those apps hold for them, as metadata only.

A grant's row holds digests of its tokens; the export never carries them (nor the client's
secret digest), only which app, what it may do, when it was granted and last used, and
how it ended. Erasure deletes the consents, the grants (their refresh tokens with them)
and any authorization code of the person, after the deactivation hook revoked them.
"""

from __future__ import annotations

import uuid
from typing import Any

from staffroom.core.personal_data import Listing, batches
from staffroom.core.runtime import Runtime
from staffroom.oauth.service import store
from staffroom.oauth.tables import OAuthClient, OAuthCode, OAuthConsent, OAuthGrant

# What erasure deletes (each has the person in `user`); refresh tokens go with the grants.
PERSONAL = (OAuthConsent, OAuthGrant, OAuthCode)


async def _names(client_ids: set[Any]) -> dict[Any, str]:
    if not client_ids:
        return {}
    rows = await OAuthClient.select(OAuthClient.id, OAuthClient.name).where(
        OAuthClient.id.is_in(list(client_ids))
    )
    return {r["id"]: r["name"] for r in rows}


async def consents_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consent rows as the export shows them: the app's name and what was allowed."""
    names = await _names({r["client"] for r in rows})
    return [
        {
            "app_id": r["client"],
            "app_name": names.get(r["client"], ""),
            "scopes": store.as_list(r["scopes"]),
            "granted_at": r["created_at"],
            "updated_at": r["updated_at"],
        }
        for r in rows
    ]


async def grants_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grant rows as the export shows them: metadata only, never a token's digest."""
    names = await _names({r["client"] for r in rows})
    return [
        {
            "id": r["id"],
            "app_id": r["client"],
            "app_name": names.get(r["client"], ""),
            "grant_type": r["grant_type"],
            "scopes": store.as_list(r["scopes"]),
            "created_at": r["created_at"],
            "last_used_at": r["last_used_at"],
            "refresh_expires_at": min(r["idle_expires_at"], r["absolute_expires_at"]),
            "revoked_at": r["revoked_at"],
            "revoke_reason": r["revoke_reason"],
        }
        for r in rows
    ]


async def export_for(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> list[Listing]:
    """connected_apps.json and app_grants.json (metadata only)."""
    return [
        Listing(
            "connected_apps.json",
            "apps you allowed to use Staffroom for you, and what they may do",
            batches(
                OAuthConsent,
                (OAuthConsent.user == user_id) & (OAuthConsent.org == org_id),
                consents_out,
            ),
        ),
        Listing(
            "app_grants.json",
            "each app's access for you: scopes, when, last use, its end (never tokens)",
            batches(
                OAuthGrant, (OAuthGrant.user == user_id) & (OAuthGrant.org == org_id), grants_out
            ),
        ),
    ]


async def erase(rt: Runtime, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The apps they allowed and what those apps held for them (revoked just before, by the
    deactivation hook): consents, grants with their refresh tokens, codes."""
    for table in PERSONAL:
        await table.delete().where(table.user == user_id)
