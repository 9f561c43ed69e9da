"""API keys: scoped, shown once, stored hashed, prefix visible, expiry, last use, revoke,
their own rate limit, every use audited."""

from __future__ import annotations

from staffroom.accounts.tables import ApiKey
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from tests.support.apps import app_client
from tests.support.world import World, assert_problem, bearer


async def _key(client, admin, *scopes: str, **extra) -> dict:
    r = await client.post(
        "/api/v1/api-keys",
        json={"name": "HRIS sync", "scopes": list(scopes), **extra},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return r.json()


def key_auth(created: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {created['key']}"}


async def test_a_key_is_shown_once_and_stored_as_a_digest(client, world: World):
    admin = await bearer(client, world.acme, "admin")
    created = await _key(client, admin, "users:read")
    key = created["key"]
    assert key.startswith(created["api_key"]["prefix"] + "_") and len(key) > 50
    listed = (await client.get("/api/v1/api-keys", headers=admin)).json()
    assert [k["prefix"] for k in listed] == [created["api_key"]["prefix"]]
    assert key not in str(listed)
    row = await ApiKey.select().first()
    # The secret may itself hold "_": it is everything after the fixed-length prefix.
    secret = key[len(created["api_key"]["prefix"]) + 1 :]
    assert len(secret) >= 40 and key not in str(row) and secret not in str(row)
    member = await bearer(client, world.acme, "member")
    assert_problem(await client.get("/api/v1/api-keys", headers=member), 403)


async def test_a_key_reaches_its_scopes_routes_only(client, world: World):
    admin = await bearer(client, world.acme, "admin")
    headers = key_auth(await _key(client, admin, "users:read"))
    r = await client.get("/api/v1/users", headers=headers)
    assert r.status_code == 200 and r.json()["items"]
    for method, path, body in (
        ("POST", "/api/v1/invites", {"email": "x@acme.example"}),
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/api-keys", None),
        ("POST", "/api/v1/api-keys", {"name": "x", "scopes": ["users:read"]}),
        ("GET", "/api/v1/audit-events", None),
        ("GET", "/api/v1/conversations", None),
        ("PATCH", "/api/v1/org", {"name": "Hijacked"}),
    ):
        r = await client.request(method, path, json=body, headers=headers)
        assert_problem(r, 403)
    # users:read does not include changing people.
    r = await client.patch(
        f"/api/v1/users/{world.acme['member'].id}", json={"role": "admin"}, headers=headers
    )
    assert_problem(r, 403)
    used = await AuditEvent.select().where(AuditEvent.action == "api_key.used")
    assert len(used) == 9 and used[0]["actor_type"] == "api_key"
    row = await ApiKey.select().first()
    assert row["last_used_at"] is not None


async def test_scopes_are_checked_when_the_key_is_made(client, world: World):
    admin = await bearer(client, world.acme, "admin")
    for scopes, status, code in (
        (["users:everything"], 422, "unknown_scope"),
        ([], 400, None),
        (["compliance:all"], 422, "unknown_scope"),
    ):
        r = await client.post(
            "/api/v1/api-keys", json={"name": "x", "scopes": scopes}, headers=admin
        )
        assert_problem(r, status, code)
    r = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "scopes": ["users:read"], "org": "globex"},
        headers=admin,
    )
    assert_problem(r, 400)
    assert await ApiKey.count() == 0


async def test_revoked_expired_and_orphaned_keys_stop_working(client, world: World):
    admin = await bearer(client, world.acme, "admin")
    owner = await bearer(client, world.acme, "owner")
    revoked = await _key(client, admin, "users:read")
    short = await _key(client, admin, "users:read", expires_in_days=1)
    orphan = await _key(client, admin, "feeds:read")
    assert (await client.get("/api/v1/users", headers=key_auth(revoked))).status_code == 200
    r = await client.delete(f"/api/v1/api-keys/{revoked['api_key']['id']}", headers=admin)
    assert r.status_code == 204
    assert_problem(await client.get("/api/v1/users", headers=key_auth(revoked)), 401)
    # A made-up secret with a real prefix is refused too.
    forged = {"Authorization": f"Bearer {short['api_key']['prefix']}_{'A' * 43}"}
    assert_problem(await client.get("/api/v1/users", headers=forged), 401)
    # The creator leaves: their keys end with them.
    r = await client.post(f"/api/v1/users/{world.acme['admin'].id}/deactivate", headers=owner)
    assert r.status_code in (200, 204), r.text
    assert_problem(await client.get("/api/v1/channels", headers=key_auth(orphan)), 401)
    listed = (await client.get("/api/v1/api-keys", headers=owner)).json()
    assert all(k["revoked"] for k in listed)
    clock.travel(2 * 86400)
    assert_problem(await client.get("/api/v1/users", headers=key_auth(short)), 401)


async def test_a_key_has_its_own_rate_limit(settings, world: World):
    async with app_client(settings, rate_user_per_second=0.1, rate_user_burst=2) as c:
        admin = await bearer(c, world.acme, "admin")
        headers = key_auth(await _key(c, admin, "users:read"))
        assert (await c.get("/api/v1/users", headers=headers)).status_code == 200
        assert (await c.get("/api/v1/users", headers=headers)).status_code == 200
        limited = await c.get("/api/v1/users", headers=headers)
        assert_problem(limited, 429) and limited.headers["retry-after"]
        # Its creator's own session is a different caller.
        assert (await c.get("/api/v1/users", headers=admin)).status_code == 200
