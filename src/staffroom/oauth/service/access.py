"""OAuth access tokens at the API's door, and the ends of grants: a person's connected
apps (listed and revoked under Me), deactivation.

An access token is accepted like an API key: on its scopes' routes only, with the
permissions of the scopes it holds (and its client still has) that the person behind it
still has. For a client-credentials token that person is the admin who registered the
client, so an app never does more than they may.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from staffroom.accounts.service.lookups import role_permissions
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.db.sql import as_uuid, fetch
from staffroom.core.errors import NotFound
from staffroom.core.limits import PER_OAUTH_CLIENT, PER_USER
from staffroom.core.ratelimit import Bucket
from staffroom.core.runtime import Runtime
from staffroom.oauth.schemas import ConnectedApp
from staffroom.oauth.service import store
from staffroom.oauth.service.models import permissions_of
from staffroom.oauth.tables import OAuthClient, OAuthConsent, OAuthGrant

# last_used_at is written at most this often, so reads do not turn into writes.
_TOUCH_EVERY = timedelta(seconds=60)

# One statement: the grant, its client, the person it acts for (the consenting person, or
# for client credentials the client's creator) and a custom role's permissions.
AUTHENTICATE_SQL = (
    'SELECT g.id, g.org, g.client, g."user", g.access_scopes, g.access_expires_at,'
    " g.last_used_at, g.revoked_at, c.scopes AS client_scopes, c.disabled_at,"
    " u.id AS acting, u.role AS role, u.status AS user_status,"
    " r.permissions AS role_permissions"
    " FROM oauth_grant g JOIN oauth_client c ON c.id = g.client"
    ' JOIN app_user u ON u.id = COALESCE(g."user", c.created_by)'
    " LEFT JOIN custom_role r ON r.org = g.org AND r.key = u.role"
    " WHERE g.access_hash = {}"
)


def is_access_token(token: str) -> bool:
    """Whether a bearer token is shaped like one of our OAuth access tokens."""
    return token.startswith(store.ACCESS_PREFIX)


async def authenticate(
    rt: Runtime, token: str, ctx: RequestContext
) -> tuple[Principal, tuple[str, Bucket]] | None:
    """The principal of a live access token and its rate-limit bucket, or None."""
    rows = await fetch(OAuthGrant, AUTHENTICATE_SQL, store.digest(rt, token, "access"))
    row = rows[0] if rows else None
    now = clock.utcnow()
    if row is None or row["revoked_at"] is not None or row["disabled_at"] is not None:
        return None
    if row["access_expires_at"] <= now or row["user_status"] != "active":
        return None
    held = set(store.as_list(row["access_scopes"])) & set(store.as_list(row["client_scopes"]))
    rights = role_permissions(row["role"], row["role_permissions"])
    if now - row["last_used_at"] > _TOUCH_EVERY:
        await OAuthGrant.update({OAuthGrant.last_used_at: now}).where(OAuthGrant.id == row["id"])
    principal = Principal(
        org_id=as_uuid(row["org"]),
        user_id=as_uuid(row["acting"]),
        # Never a role's own checks (an owner's): only the permissions below.
        role="integration",
        permissions=permissions_of(sorted(held)) & rights,
        scope="oauth",
    )
    # A person's app shares the person's bucket; a client acting for itself has its own.
    bucket = (
        PER_USER.at(rt.settings, row["user"])
        if row["user"]
        else PER_OAUTH_CLIENT.at(rt.settings, row["client"])
    )
    return principal, bucket


async def revoke_for_user(org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Deactivation (and erasure) hook: the person's apps and the client-credentials
    tokens of the clients they registered stop at once."""
    theirs = await OAuthClient.select(OAuthClient.id).where(
        (OAuthClient.org == org_id) & (OAuthClient.created_by == user_id)
    )
    where: Any = OAuthGrant.user == user_id
    if theirs:
        where |= OAuthGrant.user.is_null() & OAuthGrant.client.is_in([r["id"] for r in theirs])
    await store.revoke_grants((OAuthGrant.org == org_id) & where, "deactivated")


async def connected_apps(principal: Principal) -> list[ConnectedApp]:
    """The apps the caller allowed, with what they may do and when they last did."""
    consents = await (
        OAuthConsent.select(
            OAuthConsent.client,
            OAuthConsent.scopes,
            OAuthConsent.created_at,
            OAuthConsent.client.name.as_alias("name"),
        )
        .where((OAuthConsent.user == principal.user_id) & (OAuthConsent.org == principal.org_id))
        .order_by(OAuthConsent.created_at, ascending=False)
        .output(load_json=True)
    )
    last: dict[Any, Any] = {}
    for g in await OAuthGrant.select(OAuthGrant.client, OAuthGrant.last_used_at).where(
        OAuthGrant.user == principal.user_id
    ):
        if last.get(g["client"]) is None or g["last_used_at"] > last[g["client"]]:
            last[g["client"]] = g["last_used_at"]
    return [
        ConnectedApp(
            client_id=str(c["client"]),
            name=c["name"],
            scopes=store.as_list(c["scopes"]),
            granted_at=c["created_at"],
            last_used_at=last.get(c["client"]),
        )
        for c in consents
    ]


async def disconnect(principal: Principal, client_id: uuid.UUID, ctx: RequestContext) -> None:
    """Forget the caller's consent to an app and revoke every token it holds for them."""
    mine = (OAuthConsent.user == principal.user_id) & (OAuthConsent.org == principal.org_id)
    gone = (
        await OAuthConsent.delete()
        .where(mine & (OAuthConsent.client == client_id))
        .returning(OAuthConsent.id)
    )
    revoked = await store.revoke_grants(
        (OAuthGrant.user == principal.user_id)
        & (OAuthGrant.org == principal.org_id)
        & (OAuthGrant.client == client_id),
        "user_disconnected",
    )
    if not gone and not revoked:
        raise NotFound("connected_app_not_found", "No such connected app.")
    await audit.by(
        principal,
        ctx,
        "oauth.consent_revoked",
        ("oauth_client", client_id),
        {"grants": len(revoked)},
    )
