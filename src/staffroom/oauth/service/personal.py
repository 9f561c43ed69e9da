"""A person's OAuth data for GDPR (compliance/service/export.py, erasure.py): the apps they
allowed (consents) and the grants those apps hold for them, as metadata only.

A grant's row holds digests of its tokens; the export never carries them (nor the client's
secret digest), only which app, what it may do, when it was granted and last used, and
how it ended. Erasure deletes the consents, the grants (their refresh tokens with them)
and any authorization code of the person, after the deactivation hook revoked them.
"""

from __future__ import annotations

from typing import Any

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
