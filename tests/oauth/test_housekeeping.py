"""OAuth's periodic housekeeping (oauth/scheduled.py): authorization codes past their
lifetime and grants long ended (revoked, past their refresh lifetimes, a client-credentials
token long expired) are deleted with their refresh tokens; live grants stay and work."""

from __future__ import annotations

from typing import Any

from staffroom.app import BACKGROUND
from staffroom.core import clock
from staffroom.oauth import scheduled
from staffroom.oauth.tables import OAuthCode, OAuthGrant, OAuthRefreshToken
from tests.oauth.helpers import REVOKE, TOKEN, authorized_code, new_verifier, oauth_client, register
from tests.support.world import World, bearer

DAY = 24 * 3600


async def _grant_types() -> list[str]:
    rows = await OAuthGrant.select(OAuthGrant.grant_type).order_by(OAuthGrant.created_at)
    return [r["grant_type"] for r in rows]


async def test_expired_codes_and_long_dead_grants_are_pruned_and_live_ones_kept(
    app, client, rt: Any, world: World
) -> None:
    assert scheduled.PRUNE in BACKGROUND  # the one runner runs it in every worker
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    registered = await register(client, admin, kind="confidential")
    async with oauth_client(app, registered) as c:
        # A live grant, a grant revoked at once, a client-credentials grant, and a code
        # the app never redeemed.
        verifier = new_verifier()
        redirect_to, state = await authorized_code(client, member, c, verifier)
        live = await c.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
        verifier = new_verifier()
        redirect_to, state = await authorized_code(client, member, c, verifier)
        revoked = await c.fetch_token(
            TOKEN, authorization_response=redirect_to, code_verifier=verifier, state=state
        )
        assert (await c.revoke_token(REVOKE, token=revoked["refresh_token"])).status_code == 200
        await c.fetch_token(TOKEN, grant_type="client_credentials")
        await authorized_code(client, member, c, new_verifier())
        assert await OAuthCode.count() == 3
        assert await _grant_types() == [
            "authorization_code",
            "authorization_code",
            "client_credentials",
        ]

        # Nothing has ended long enough yet: nothing goes.
        await scheduled.PRUNE.run(rt)
        assert await OAuthCode.count() == 3 and await OAuthGrant.count() == 3

        # Two days on, the codes (the redeemed ones and the unused one) are gone; the
        # grants they gave stay. The live grant is used, so it stays live.
        clock.travel(2 * DAY)
        live = await c.refresh_token(TOKEN, refresh_token=live["refresh_token"])
        await scheduled.PRUNE.run(rt)
        assert await OAuthCode.count() == 0
        assert await OAuthGrant.count() == 3

        # A month on (the retention is 30 days), the revoked grant and the expired
        # client-credentials one go, with their refresh tokens; the live one stays.
        clock.travel(29 * DAY + 3600)
        live = await c.refresh_token(TOKEN, refresh_token=live["refresh_token"])
        await scheduled.PRUNE.run(rt)
        assert await _grant_types() == ["authorization_code"]
        kept = await OAuthGrant.select(OAuthGrant.id).first()
        assert await OAuthRefreshToken.count() == await OAuthRefreshToken.count().where(
            OAuthRefreshToken.grant == kept["id"]
        )
        assert await OAuthRefreshToken.count() == 3  # the live grant's rotations
        r = await client.get(
            "/api/v1/users", headers={"Authorization": f"Bearer {live['access_token']}"}
        )
        assert r.status_code == 200, r.text

        # Unused for longer than its idle lifetime (30 days) and the retention after it,
        # the live grant ends and goes too.
        clock.travel(61 * DAY)
        await scheduled.PRUNE.run(rt)
        assert await OAuthGrant.count() == 0 and await OAuthRefreshToken.count() == 0
