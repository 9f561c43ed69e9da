"""Pruning the OAuth rows nobody can use any more: authorization codes past their lifetime
and grants (with their refresh tokens) that ended, by revocation or by running out.

A code is kept a day past its expiry so that a second use soon after is still told apart
from an unknown code (and revokes what the first use gave, `store.claim_code`); a
grant is kept `STAFFROOM_OAUTH_GRANT_RETENTION_DAYS` past its end so that a refresh token
presented again soon after is still recognised as its grant's (reuse), and the admin's
view of a client still counts it. The audit trail keeps the grant and its revocation for
good; the rows themselves hold nothing anyone needs after that (no token, only digests).
"""

from __future__ import annotations

from datetime import timedelta

from staffroom.core import clock
from staffroom.core.runtime import Runtime
from staffroom.oauth.tables import OAuthCode, OAuthGrant

CODE_KEPT = timedelta(days=1)


async def prune(rt: Runtime) -> dict[str, int]:
    """Delete expired codes and long-dead grants; how many of each. Idempotent."""
    now = clock.utcnow()
    codes = (
        await OAuthCode.delete()
        .where(OAuthCode.expires_at < now - CODE_KEPT)
        .returning(OAuthCode.id)
    )
    # A negative setting must not reach into grants still alive: 0 at least.
    ended = now - timedelta(days=max(0, rt.settings.oauth_grant_retention_days))
    # A grant ends when it is revoked; when its refresh tokens can no longer be used (idle
    # or absolute lifetime); a client-credentials grant, which has no refresh token, when
    # its access token expires. Its refresh tokens go with it (ON DELETE CASCADE).
    client_credentials = OAuthGrant.grant_type == "client_credentials"
    dead = (
        (OAuthGrant.revoked_at < ended)
        | (client_credentials & (OAuthGrant.access_expires_at < ended))
        | (OAuthGrant.idle_expires_at < ended)
        | (OAuthGrant.absolute_expires_at < ended)
    )
    grants = await OAuthGrant.delete().where(dead).returning(OAuthGrant.id)
    return {"codes": len(codes), "grants": len(grants)}
