"""OAuth clients registered by IT admins: per org, exact redirect URIs, the API keys'
scopes (never beyond the admin's own rights), the secret shown once and stored as an HMAC
digest; disabling a client revokes its tokens at once."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any
from urllib.parse import urlsplit

from staffroom.accounts.service.api_keys import SCOPES
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.errors import Forbidden, Invalid, NotFound
from staffroom.core.runtime import Runtime
from staffroom.core.text import clean_name
from staffroom.core.tokens import new_token
from staffroom.oauth.schemas import (
    OAuthClientCreated,
    OAuthClientIn,
    OAuthClientOut,
    OAuthClientPatch,
    OAuthSecret,
)
from staffroom.oauth.service import store
from staffroom.oauth.service.models import beyond
from staffroom.oauth.tables import OAuthClient, OAuthGrant


def check_redirect_uri(uri: str) -> str:
    """An exact redirect URI: https, or http on a loopback address (RFC 8252 native apps);
    no wildcard, fragment or credentials. Returns it unchanged (compared exactly later)."""

    def bad(why: str) -> Invalid:
        return Invalid("invalid_redirect_uri", f"{uri[:100]}: {why}")

    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise bad("not a URL") from None
    if uri != uri.strip() or any(c in uri for c in "*\\ \t\r\n"):
        raise bad("no wildcards or blanks")
    if parts.fragment or "#" in uri:
        raise bad("no fragment")
    if parts.username is not None or not host:
        raise bad("an absolute URL with a host and no credentials")
    if parts.scheme == "https":
        return uri
    if parts.scheme == "http":
        try:
            if ipaddress.ip_address(host).is_loopback:
                return uri
        except ValueError:
            pass
        raise bad("http only for a loopback address (127.0.0.1, [::1])")
    raise bad("https, or http on a loopback address")


def _check_scopes(principal: Principal, scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise Invalid("unknown_scope", f"Unknown scopes: {', '.join(unknown)}.")
    if beyond(scopes, principal.permissions):
        # Nobody hands an app more than they may do themselves.
        raise Forbidden("scope_beyond_your_rights", "A client cannot exceed your own rights.")
    return sorted(set(scopes))


def _check_uris(kind: str, uris: list[str]) -> list[str]:
    checked = list(dict.fromkeys(check_redirect_uri(u) for u in uris))
    if kind == "public" and not checked:
        raise Invalid("redirect_uri_required", "A public client needs a redirect URI.")
    return checked


async def _usage(client_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, Any]]:
    """Live grants and last use per client."""
    if not client_ids:
        return {}
    now = clock.utcnow()
    rows = await OAuthGrant.select(
        OAuthGrant.client,
        OAuthGrant.last_used_at,
        OAuthGrant.revoked_at,
        OAuthGrant.absolute_expires_at,
    ).where(OAuthGrant.client.is_in(client_ids))
    usage: dict[uuid.UUID, tuple[int, Any]] = {}
    for r in rows:
        live, last = usage.get(r["client"], (0, None))
        alive = r["revoked_at"] is None and r["absolute_expires_at"] > now
        last = r["last_used_at"] if last is None or r["last_used_at"] > last else last
        usage[r["client"]] = (live + alive, last)
    return usage


def _out(row: dict[str, Any], usage: tuple[int, Any]) -> OAuthClientOut:
    return OAuthClientOut(
        id=row["id"],
        client_id=str(row["id"]),
        name=row["name"],
        kind=row["kind"],
        redirect_uris=store.as_list(row["redirect_uris"]),
        scopes=store.as_list(row["scopes"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        disabled=row["disabled_at"] is not None,
        active_grants=usage[0],
        last_used_at=usage[1],
    )


async def _row(principal: Principal, client_id: uuid.UUID) -> dict[str, Any]:
    row = await store.client(client_id, principal.org_id)
    if row is None:
        raise NotFound("oauth_client_not_found", "No such OAuth client.")
    return row


async def get(principal: Principal, client_id: uuid.UUID) -> OAuthClientOut:
    """One client of the caller's org."""
    row = await _row(principal, client_id)
    return _out(row, (await _usage([row["id"]])).get(row["id"], (0, None)))


async def list_clients(principal: Principal) -> list[OAuthClientOut]:
    """The org's clients (never their secrets), newest first."""
    rows = await (
        OAuthClient.select()
        .where(OAuthClient.org == principal.org_id)
        .order_by(OAuthClient.created_at, ascending=False)
        .output(load_json=True)
    )
    usage = await _usage([r["id"] for r in rows])
    return [_out(r, usage.get(r["id"], (0, None))) for r in rows]


def _secret(rt: Runtime) -> tuple[str, str]:
    secret = new_token()
    return secret, store.digest(rt, secret, "secret")


async def create(
    rt: Runtime, principal: Principal, data: OAuthClientIn, ctx: RequestContext
) -> OAuthClientCreated:
    """Register a client; a confidential one's secret is in this answer only."""
    scopes = _check_scopes(principal, data.scopes)
    uris = _check_uris(data.kind, data.redirect_uris)
    secret, secret_hash = _secret(rt) if data.kind == "confidential" else (None, None)
    now = clock.utcnow()
    client_id = uuid.uuid4()
    await OAuthClient.insert(
        OAuthClient(
            id=client_id,
            org=principal.org_id,
            name=clean_name(data.name),
            kind=data.kind,
            secret_hash=secret_hash,
            redirect_uris=uris,
            scopes=scopes,
            created_by=principal.user_id,
            created_at=now,
            updated_at=now,
        )
    )
    details = {"name": data.name, "kind": data.kind, "scopes": scopes, "redirect_uris": uris}
    await audit.by(principal, ctx, "oauth_client.created", ("oauth_client", client_id), details)
    return OAuthClientCreated(client=await get(principal, client_id), client_secret=secret)


async def update(
    rt: Runtime,
    principal: Principal,
    client_id: uuid.UUID,
    data: OAuthClientPatch,
    ctx: RequestContext,
) -> OAuthClientOut:
    """Rename, change redirect URIs or scopes (fewer scopes take effect on live tokens at
    once: a token works with its scopes that the client still has)."""
    row = await _row(principal, client_id)
    changes: dict[Any, Any] = {OAuthClient.updated_at: clock.utcnow()}
    details: dict[str, Any] = {}
    if isinstance(data.name, str):
        changes[OAuthClient.name] = details["name"] = clean_name(data.name)
    if isinstance(data.redirect_uris, list):
        uris = _check_uris(row["kind"], data.redirect_uris)
        changes[OAuthClient.redirect_uris] = details["redirect_uris"] = uris
    if isinstance(data.scopes, list):
        changes[OAuthClient.scopes] = details["scopes"] = _check_scopes(principal, data.scopes)
    await OAuthClient.update(changes).where(OAuthClient.id == row["id"])
    await audit.by(principal, ctx, "oauth_client.updated", ("oauth_client", row["id"]), details)
    return await get(principal, client_id)


async def set_disabled(
    principal: Principal, client_id: uuid.UUID, disabled: bool, ctx: RequestContext
) -> OAuthClientOut:
    """Disable a client (every token it holds is revoked at once) or enable it again."""
    row = await _row(principal, client_id)
    await OAuthClient.update({OAuthClient.disabled_at: clock.utcnow() if disabled else None}).where(
        OAuthClient.id == row["id"]
    )
    revoked = 0
    if disabled:
        revoked = len(await store.revoke_grants(OAuthGrant.client == row["id"], "client_disabled"))
    action = "oauth_client.disabled" if disabled else "oauth_client.enabled"
    details = {"grants_revoked": revoked} if disabled else {}
    await audit.by(principal, ctx, action, ("oauth_client", row["id"]), details)
    return await get(principal, client_id)


async def rotate_secret(
    rt: Runtime, principal: Principal, client_id: uuid.UUID, ctx: RequestContext
) -> OAuthSecret:
    """A new secret for a confidential client (the old one stops working; tokens stay)."""
    row = await _row(principal, client_id)
    if row["kind"] != "confidential":
        raise Invalid("public_client_has_no_secret", "A public client has no secret.")
    secret, secret_hash = _secret(rt)
    await OAuthClient.update(
        {OAuthClient.secret_hash: secret_hash, OAuthClient.updated_at: clock.utcnow()}
    ).where(OAuthClient.id == row["id"])
    await audit.by(principal, ctx, "oauth_client.secret_rotated", ("oauth_client", row["id"]))
    return OAuthSecret(client_secret=secret)


async def delete(principal: Principal, client_id: uuid.UUID, ctx: RequestContext) -> None:
    """Remove a client with its consents, codes and tokens."""
    row = await _row(principal, client_id)
    await store.revoke_grants(OAuthGrant.client == row["id"], "client_deleted")
    await OAuthClient.delete().where(OAuthClient.id == row["id"])
    details = {"name": row["name"]}
    await audit.by(principal, ctx, "oauth_client.deleted", ("oauth_client", row["id"]), details)
