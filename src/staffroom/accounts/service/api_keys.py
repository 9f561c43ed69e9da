"""API keys for integrations: org-scoped, with scopes, shown once, stored as HMAC digests,
expiring, revocable, rate-limited on their own and audited on every use.

A key is `sr_<10 visible characters>_<256-bit secret>`; the visible prefix finds the row,
the digest of the whole key proves it. A key acts for its creator with the intersection of
its scopes and the creator's current rights, and only on its scopes' routes.
"""

from __future__ import annotations

import hmac
import secrets
import string
import uuid
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from staffroom.accounts.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut
from staffroom.accounts.service.lookups import permissions_for
from staffroom.accounts.tables import ApiKey
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Forbidden, Invalid, NotFound
from staffroom.core.runtime import Runtime
from staffroom.core.tokens import new_token

KEY_PREFIX = "sr_"
PREFIX_LENGTH = len(KEY_PREFIX) + 10
# scope -> (permissions it grants, API paths it may reach)
SCOPES: MappingProxyType[str, tuple[frozenset[str], tuple[str, ...]]] = MappingProxyType(
    {
        "users:read": (frozenset({"users.read"}), ("/api/v1/users", "/api/v1/groups")),
        "users:write": (
            frozenset({"users.read", "users.manage", "groups.manage"}),
            ("/api/v1/users", "/api/v1/groups"),
        ),
        "invites:write": (frozenset({"users.invite"}), ("/api/v1/invites",)),
        "feeds:read": (
            frozenset({"feeds.read"}),
            ("/api/v1/channels", "/api/v1/posts", "/api/v1/feed", "/api/v1/media"),
        ),
        "feeds:write": (
            frozenset({"feeds.read", "feeds.publish"}),
            ("/api/v1/channels", "/api/v1/posts", "/api/v1/feed", "/api/v1/media"),
        ),
        "audit:read": (frozenset({"audit.read"}), ("/api/v1/audit-events",)),
    }
)
_ALPHABET = string.ascii_lowercase + string.digits


def is_api_key(token: str) -> bool:
    """Whether a bearer token is shaped like an API key (not a session token)."""
    return token.startswith(KEY_PREFIX) and token[PREFIX_LENGTH : PREFIX_LENGTH + 1] == "_"


def paths_for(scopes: list[str]) -> tuple[str, ...]:
    """The path prefixes a key's scopes reach."""
    return tuple(p for s in scopes if s in SCOPES for p in SCOPES[s][1])


def _out(row: dict[str, Any]) -> ApiKeyOut:
    return ApiKeyOut(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=row["scopes"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked=row["revoked_at"] is not None,
    )


async def create(
    rt: Runtime, principal: Principal, data: ApiKeyIn, ctx: RequestContext
) -> ApiKeyCreated:
    """Make a key; the secret is in this answer only."""
    unknown = sorted(set(data.scopes) - set(SCOPES))
    if unknown or not data.scopes:
        raise Invalid("unknown_scope", f"Unknown scopes: {', '.join(unknown) or '(none)'}.")
    beyond = set().union(*(SCOPES[s][0] for s in data.scopes)) - principal.permissions
    if beyond:
        # Nobody hands an integration more than they may do themselves.
        raise Forbidden("scope_beyond_your_rights", "A key cannot exceed your own rights.")
    prefix = KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    key = f"{prefix}_{new_token()}"
    now = clock.utcnow()
    row = ApiKey(
        id=uuid.uuid4(),
        org=principal.org_id,
        name=data.name.strip(),
        prefix=prefix,
        secret_hash=rt.keys.digest(key, purpose="api-key"),
        scopes=sorted(set(data.scopes)),
        created_by=principal.user_id,
        created_at=now,
        expires_at=now + timedelta(days=data.expires_in_days) if data.expires_in_days else None,
    )
    await ApiKey.insert(row)
    await audit.by(principal, ctx, "api_key.created", ("api_key", row.id), {"scopes": row.scopes})
    created = await ApiKey.select().where(ApiKey.id == row.id).output(load_json=True).first()
    assert created is not None
    return ApiKeyCreated(key=key, api_key=_out(created))


async def list_keys(principal: Principal) -> list[ApiKeyOut]:
    """The org's keys (never their secrets), newest first."""
    rows = await (
        ApiKey.select()
        .where(ApiKey.org == principal.org_id)
        .order_by(ApiKey.created_at, ascending=False)
        .output(load_json=True)
    )
    return [_out(r) for r in rows]


async def revoke(principal: Principal, key_id: uuid.UUID, ctx: RequestContext) -> None:
    """Revoke a key at once."""
    done = await (
        ApiKey.update({ApiKey.revoked_at: clock.utcnow()})
        .where((ApiKey.id == key_id) & (ApiKey.org == principal.org_id))
        .returning(ApiKey.id)
    )
    if not done:
        raise NotFound("api_key_not_found", "No such API key.")
    await audit.by(principal, ctx, "api_key.revoked", ("api_key", key_id))


async def revoke_for_user(org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Deactivation (and erasure) hook: the person's keys stop working."""
    await ApiKey.update({ApiKey.revoked_at: clock.utcnow()}).where(
        (ApiKey.org == org_id) & (ApiKey.created_by == user_id) & ApiKey.revoked_at.is_null()
    )


async def authenticate(rt: Runtime, token: str, ctx: RequestContext) -> Principal | None:
    """The principal of a live key, or None. Every use is audited."""
    # The secret part may hold "_" too: the prefix has a fixed length.
    prefix = token[:PREFIX_LENGTH]
    row = await (
        ApiKey.select(
            *ApiKey.all_columns(),
            ApiKey.created_by.role.as_alias("role"),
            ApiKey.created_by.status.as_alias("user_status"),
        )
        .where(ApiKey.prefix == prefix)
        .output(load_json=True)
        .first()
    )
    if row is None or not hmac.compare_digest(
        row["secret_hash"], rt.keys.digest(token, purpose="api-key")
    ):
        return None
    now = clock.utcnow()
    if row["revoked_at"] is not None or row["user_status"] != "active":
        return None
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return None
    granted = set().union(*(SCOPES[s][0] for s in row["scopes"] if s in SCOPES))
    rights = await permissions_for(row["org"], row["role"])
    await ApiKey.update({ApiKey.last_used_at: now}).where(ApiKey.id == row["id"])
    await audit.record(
        "api_key.used",
        ctx=ctx,
        org_id=row["org"],
        actor_type="api_key",
        actor_id=row["created_by"],
        target_type="api_key",
        target_id=row["id"],
        details={"prefix": row["prefix"]},
    )
    return Principal(
        org_id=row["org"],
        user_id=row["created_by"],
        role="integration",
        permissions=frozenset(granted & rights),
        scope="api_key",
        api_key_id=row["id"],
    )
