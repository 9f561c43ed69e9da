"""The OAuth rows as the authorization server reads and writes them (codes, grants,
refresh tokens); every secret is looked up by its HMAC digest, every one-time thing is
redeemed by one conditional UPDATE … RETURNING."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from staffroom.accounts.service import people
from staffroom.accounts.service.lookups import permissions_for
from staffroom.core import clock, rotation
from staffroom.core.runtime import Runtime
from staffroom.oauth.tables import OAuthClient, OAuthCode, OAuthConsent, OAuthGrant
from staffroom.oauth.tables import OAuthRefreshToken as Refresh

# Opaque tokens carry a prefix: the API's authentication tells them from sessions and API
# keys at a glance, and so can a secret scanner.
ACCESS_PREFIX = "sroat_"
REFRESH_PREFIX = "srort_"


def digest(rt: Runtime, secret: str, purpose: str) -> str:
    """The stored form of a secret (code, token, client secret)."""
    return rt.keys.digest(secret, purpose=f"oauth-{purpose}")


def as_list(value: Any) -> list[str]:
    """A JSON list column as read by Piccolo (a list) or a hand-written query (text)."""
    if isinstance(value, str | bytes):
        loaded: list[str] = json.loads(value)
        return loaded
    return list(value or [])


def parse_id(text: str | None) -> uuid.UUID | None:
    """A client id from a request: anything that is not one of our ids is unknown."""
    try:
        return uuid.UUID(str(text)) if text and len(text) <= 64 else None
    except ValueError:
        return None


async def client(client_id: uuid.UUID, org_id: uuid.UUID | None) -> dict[str, Any] | None:
    """A client by id, within one org when the caller's org is known."""
    where: Any = OAuthClient.id == client_id
    if org_id is not None:
        where &= OAuthClient.org == org_id
    return await OAuthClient.select().where(where).output(load_json=True).first()


async def active_user(org_id: uuid.UUID, user_id: uuid.UUID | None) -> dict[str, Any] | None:
    """An active person of the client's org (`id`, `org`, `role`) with their permissions,
    or None."""
    if user_id is None:
        return None
    row = await people.person(org_id, user_id)
    if row is None or row.status != "active":
        return None
    return {
        "id": row.id,
        "org": row.org,
        "role": row.role,
        "permissions": await permissions_for(org_id, row.role),
    }


async def save_code(rt: Runtime, code: str, values: dict[str, Any]) -> None:
    """Store a new authorization code (its digest only)."""
    now = clock.utcnow()
    await OAuthCode.insert(
        OAuthCode(
            id=uuid.uuid4(),
            code_hash=digest(rt, code, "code"),
            expires_at=now + timedelta(seconds=rt.settings.oauth_code_ttl),
            created_at=now,
            **values,
        )
    )


async def claim_code(rt: Runtime, code: str, client_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
    """Redeem a client's code once: ("ok", row); ("reused", row) for a code redeemed
    before; ("expired", row); ("unknown", {}) for anything else."""
    code_hash = digest(rt, code, "code")
    now = clock.utcnow()
    mine = (OAuthCode.code_hash == code_hash) & (OAuthCode.client == client_id)
    claimed = (
        await OAuthCode.update({OAuthCode.used_at: now})
        .where(mine & OAuthCode.used_at.is_null() & (OAuthCode.expires_at > now))
        .returning(*OAuthCode.all_columns())
    )
    if claimed:
        return "ok", _loaded(claimed[0])
    row = await OAuthCode.select().where(mine).output(load_json=True).first()
    if row is None:
        return "unknown", {}
    return ("reused" if row["used_at"] is not None else "expired"), row


def _loaded(row: dict[str, Any]) -> dict[str, Any]:
    return row | {"scopes": as_list(row["scopes"])}


async def new_grant(
    rt: Runtime,
    client_row: dict[str, Any],
    *,
    user_id: uuid.UUID | None,
    code_id: uuid.UUID | None,
    grant_type: str,
    token: dict[str, Any],
) -> uuid.UUID:
    """A new grant holding the token's access token (and its first refresh token)."""
    s = rt.settings
    now = clock.utcnow()
    scopes = sorted(set(str(token.get("scope", "")).split()))
    grant_id = uuid.uuid4()
    await OAuthGrant.insert(
        OAuthGrant(
            id=grant_id,
            org=client_row["org"],
            client=client_row["id"],
            user=user_id,
            code=code_id,
            grant_type=grant_type,
            scopes=scopes,
            access_scopes=scopes,
            access_hash=digest(rt, token["access_token"], "access"),
            access_expires_at=now + timedelta(seconds=int(token["expires_in"])),
            created_at=now,
            last_used_at=now,
            idle_expires_at=now + timedelta(seconds=s.oauth_refresh_idle_ttl),
            absolute_expires_at=now + timedelta(seconds=s.oauth_refresh_absolute_ttl),
        )
    )
    if token.get("refresh_token"):
        await _add_refresh(rt, client_row["org"], grant_id, token["refresh_token"])
    return grant_id


async def _add_refresh(rt: Runtime, org_id: uuid.UUID, grant_id: uuid.UUID, token: str) -> None:
    await Refresh.insert(
        Refresh(
            id=uuid.uuid4(),
            org=org_id,
            grant=grant_id,
            token_hash=digest(rt, token, "refresh"),
            created_at=clock.utcnow(),
        )
    )


async def rotate(rt: Runtime, grant_id: uuid.UUID, token: dict[str, Any]) -> None:
    """A refresh: the grant's new access token (its scope may be narrower) and refresh token."""
    now = clock.utcnow()
    row = (
        await OAuthGrant.update(
            {
                OAuthGrant.access_hash: digest(rt, token["access_token"], "access"),
                OAuthGrant.access_scopes: sorted(set(str(token.get("scope", "")).split())),
                OAuthGrant.access_expires_at: now + timedelta(seconds=int(token["expires_in"])),
                OAuthGrant.last_used_at: now,
                OAuthGrant.idle_expires_at: now
                + timedelta(seconds=rt.settings.oauth_refresh_idle_ttl),
            }
        )
        .where(OAuthGrant.id == grant_id)
        .returning(OAuthGrant.org)
    )
    await _add_refresh(rt, row[0]["org"], grant_id, token["refresh_token"])


async def refresh_grant(rt: Runtime, token: str) -> dict[str, Any] | None:
    """The grant a refresh token belongs to (without using the token), or None."""
    token_hash = digest(rt, token, "refresh")
    row = await Refresh.select(Refresh.grant).where(Refresh.token_hash == token_hash).first()
    return await grant(row["grant"]) if row else None


async def claim_refresh(rt: Runtime, token: str) -> rotation.Claim | None:
    """Use a refresh token once (core/rotation.py: the same rotation as sessions)."""
    return await rotation.claim(
        Refresh, Refresh.grant, digest(rt, token, "refresh"), clock.utcnow()
    )


async def grant(grant_id: uuid.UUID) -> dict[str, Any] | None:
    """One grant."""
    return await OAuthGrant.select().where(OAuthGrant.id == grant_id).output(load_json=True).first()


async def grant_by_token(rt: Runtime, token: str) -> tuple[str, dict[str, Any]] | None:
    """("access_token" | "refresh_token", grant) for one of our tokens, else None."""
    if token.startswith(ACCESS_PREFIX):
        found = await (
            OAuthGrant.select()
            .where(OAuthGrant.access_hash == digest(rt, token, "access"))
            .output(load_json=True)
            .first()
        )
        return ("access_token", found) if found else None
    if token.startswith(REFRESH_PREFIX):
        row = await refresh_grant(rt, token)
        return ("refresh_token", row) if row else None
    return None


async def revoke_grants(where: Any, reason: str) -> list[dict[str, Any]]:
    """Revoke the live grants matching a condition; returns them."""
    rows: list[dict[str, Any]] = (
        await OAuthGrant.update(
            {OAuthGrant.revoked_at: clock.utcnow(), OAuthGrant.revoke_reason: reason}
        )
        .where(where & OAuthGrant.revoked_at.is_null())
        .returning(OAuthGrant.id, OAuthGrant.org, OAuthGrant.client, OAuthGrant.user)
    )
    return rows


async def remember_consent(
    org_id: uuid.UUID, user_id: uuid.UUID, client_id: uuid.UUID, scopes: list[str]
) -> None:
    """Remember what a person allowed a client (adding to what they allowed before)."""
    now = clock.utcnow()
    mine = (OAuthConsent.user == user_id) & (OAuthConsent.client == client_id)
    row = await OAuthConsent.select().where(mine).output(load_json=True).first()
    if row is None:
        await OAuthConsent.insert(
            OAuthConsent(
                id=uuid.uuid4(),
                org=org_id,
                user=user_id,
                client=client_id,
                scopes=sorted(set(scopes)),
                created_at=now,
                updated_at=now,
            )
        )
        return
    merged = sorted(set(as_list(row["scopes"])) | set(scopes))
    await OAuthConsent.update({OAuthConsent.scopes: merged, OAuthConsent.updated_at: now}).where(
        mine
    )


async def consent_covers(user_id: uuid.UUID, client_id: uuid.UUID, scopes: list[str]) -> bool:
    """Whether the person already allowed the client every one of these scopes."""
    row = (
        await OAuthConsent.select(OAuthConsent.scopes)
        .where((OAuthConsent.user == user_id) & (OAuthConsent.client == client_id))
        .output(load_json=True)
        .first()
    )
    return row is not None and set(scopes) <= set(as_list(row["scopes"]))
