"""The per-worker principal cache (SECURITY.md rule 6, issue 22 decision 1): a session is
looked up once, then kept; every announced change drops it at once; an unannounced one
lives 30 s at most; a look-up racing an announcement is not kept; without a healthy
subscription (Redis configured) nothing is kept at all.

Two real instances sharing Redis: tests/accounts/test_principal_cache_instances.py."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import Any

import pytest

from staffroom.accounts.service.sessions import AUTHENTICATE_SQL
from staffroom.accounts.tables import AuthSession
from staffroom.core import clock, principal_cache, realtime
from staffroom.core.context import Principal
from staffroom.core.principal_cache import PRINCIPALS_TOPIC, PrincipalCache
from staffroom.core.realtime.redis import RedisRelay
from staffroom.core.realtime.watch import RedisWatch
from tests.oauth.helpers import TOKEN, oauth_client, register
from tests.support.apps import app_client
from tests.support.flows import auth, code_now, enrol_totp
from tests.support.queries import count_queries
from tests.support.servers import RedisServer, free_port
from tests.support.world import PASSWORD, World, assert_problem, login


def _token(h: dict[str, str]) -> str:
    return h["Authorization"].removeprefix("Bearer ")


def _kept(rt: Any, h: dict[str, str]) -> bool:
    return rt.keys.digest(_token(h), purpose="access") in principal_cache.of(rt)


async def _me(client: Any, h: dict[str, str]) -> Any:
    r = await client.get("/api/v1/me", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def _kept_after_me(client: Any, rt: Any, h: dict[str, str]) -> Any:
    """Call /me, and check the session is now kept (so a stale answer would show)."""
    me = await _me(client, h)
    assert _kept(rt, h)
    return me


async def _revoke_unannounced(h: dict[str, str], rt: Any) -> None:
    """Revoke a session behind the service's back: nobody announces it."""
    digest = rt.keys.digest(_token(h), purpose="access")
    await AuthSession.update({AuthSession.revoked_at: clock.utcnow()}).where(
        AuthSession.access_hash == digest
    )


async def test_a_session_is_looked_up_at_sign_in_then_kept(client, rt, world: World, monkeypatch):
    counted = count_queries(monkeypatch, AuthSession)
    h = auth(await login(client, "acme", world.acme["member"].login))
    assert any(q.startswith(AUTHENTICATE_SQL[:40]) for q in counted), counted
    for _ in range(2):
        counted.clear()
        await _me(client, h)
        assert counted and not any(q.startswith(AUTHENTICATE_SQL[:40]) for q in counted), counted
    assert principal_cache.of(rt).hits >= 2
    clock.travel(31)  # past the cache's 30 s: looked up again
    counted.clear()
    await _me(client, h)
    assert any(q.startswith(AUTHENTICATE_SQL[:40]) for q in counted), counted


async def test_what_the_cache_hands_out_cannot_be_changed_by_a_request(
    client, rt, world: World
) -> None:
    # Every request of a session shares the one kept principal: none may change it.
    h = auth(await login(client, "acme", world.acme["member"].login))
    await _kept_after_me(client, rt, h)
    kept = principal_cache.of(rt).get(rt.keys.digest(_token(h), purpose="access"))
    assert kept is not None and isinstance(kept.permissions, frozenset)
    with pytest.raises(dataclasses.FrozenInstanceError):
        kept.role = "owner"  # type: ignore[misc]
    assert (await _me(client, h))["role"] == "member"


async def test_sign_out_revocation_deactivation_and_password_change_end_it_at_once(
    client, rt, world: World
) -> None:
    member = world.acme["member"]
    admin = auth(await login(client, "acme", world.acme["admin"].login))
    one, two, three, four = [auth(await login(client, "acme", member.login)) for _ in range(4)]
    for h in (one, two, three, four):
        await _kept_after_me(client, rt, h)
    # Sign-out.
    assert (await client.post("/api/v1/auth/logout", headers=one)).status_code == 204
    assert_problem(await client.get("/api/v1/me", headers=one), 401, "invalid_token")
    # One of their sessions revoked from another.
    mine = (await client.get("/api/v1/me/sessions", headers=two)).json()["items"]
    two_id = next(s["id"] for s in mine if s["current"])
    assert (await client.delete(f"/api/v1/me/sessions/{two_id}", headers=three)).status_code == 204
    assert_problem(await client.get("/api/v1/me", headers=two), 401, "invalid_token")
    # A password change ends every other session.
    await _kept_after_me(client, rt, four)
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "Fresh-Meadow-Kettle-7"},
        headers=three,
    )
    assert r.status_code == 204, r.text
    assert_problem(await client.get("/api/v1/me", headers=four), 401, "invalid_token")
    # Deactivation ends the rest.
    await _kept_after_me(client, rt, three)
    r = await client.post(f"/api/v1/users/{member.id}/deactivate", headers=admin)
    assert r.status_code == 200, r.text
    assert_problem(await client.get("/api/v1/me", headers=three), 401, "invalid_token")


async def test_a_refreshed_token_replaces_the_old_one_at_once(client, rt, world: World) -> None:
    body = await login(client, "acme", world.acme["member"].login)
    old = auth(body)
    await _kept_after_me(client, rt, old)
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 200, r.text
    assert_problem(await client.get("/api/v1/me", headers=old), 401, "invalid_token")
    await _me(client, auth(r.json()))


async def test_role_group_and_custom_role_changes_show_at_once(client, rt, world: World) -> None:
    admin = auth(await login(client, "acme", world.acme["admin"].login))
    member = world.acme["member"]
    h = auth(await login(client, "acme", member.login))
    assert "feeds.publish" not in (await _kept_after_me(client, rt, h))["permissions"]
    r = await client.patch(f"/api/v1/users/{member.id}", json={"role": "editor"}, headers=admin)
    assert r.status_code == 200, r.text
    assert "feeds.publish" in (await _kept_after_me(client, rt, h))["permissions"]
    # Groups are not part of a principal, but what someone may read follows them.
    group = (await client.post("/api/v1/groups", json={"name": "Depot"}, headers=admin)).json()
    r = await client.post(
        f"/api/v1/groups/{group['id']}/members",
        json={"user_ids": [str(member.id)]},
        headers=admin,
    )
    assert r.status_code in (200, 201), r.text
    assert not _kept(rt, h)
    # A custom role's permissions.
    role = {"key": "lead", "name": "Lead", "permissions": ["feeds.read", "feeds.publish"]}
    assert (await client.post("/api/v1/roles", json=role, headers=admin)).status_code == 201
    r = await client.patch(f"/api/v1/users/{member.id}", json={"role": "lead"}, headers=admin)
    assert r.status_code == 200, r.text
    assert (await _kept_after_me(client, rt, h))["permissions"] == ["feeds.publish", "feeds.read"]
    r = await client.patch(
        "/api/v1/roles/lead", json={"permissions": ["feeds.read"]}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert (await _kept_after_me(client, rt, h))["permissions"] == ["feeds.read"]


async def test_org_security_settings_and_mfa_changes_show_at_once(client, rt, world: World):
    owner = auth(await login(client, "acme", world.acme["owner"].login))
    h = auth(await login(client, "acme", world.acme["member"].login))
    assert (await _kept_after_me(client, rt, h))["session_scope"] == "full"
    r = await client.patch("/api/v1/org", json={"require_mfa": True}, headers=owner)
    assert r.status_code == 200, r.text
    assert (await _kept_after_me(client, rt, h))["session_scope"] == "enrol"
    assert_problem(await client.get("/api/v1/feed", headers=h), 403, "mfa_enrolment_required")
    # Enrolment makes this session a full one at once (not in 30 s).
    secret = (await client.post("/api/v1/me/mfa/totp", headers=h)).json()["secret"]
    r = await client.post("/api/v1/me/mfa/totp/confirm", json={"code": code_now(secret)}, headers=h)
    assert r.status_code == 200, r.text
    recovery = r.json()["recovery_codes"]
    assert (await _kept_after_me(client, rt, h))["session_scope"] == "full"
    assert (await client.get("/api/v1/feed", headers=h)).status_code == 200
    # Turning the factor off makes it enrol-only again, at once.
    r = await client.request(
        "DELETE",
        "/api/v1/me/mfa/totp",
        json={"password": PASSWORD, "code": recovery[0]},
        headers=h,
    )
    assert r.status_code == 204, r.text
    assert (await _me(client, h))["session_scope"] == "enrol"


async def test_an_admins_session_ends_and_mfa_reset_end_it_at_once(client, rt, world: World):
    admin = auth(await login(client, "acme", world.acme["admin"].login))
    member = world.acme["member"]
    one, two = [auth(await login(client, "acme", member.login)) for _ in range(2)]
    mine = (await client.get("/api/v1/me/sessions", headers=one)).json()["items"]
    one_id = next(s["id"] for s in mine if s["current"])
    await _kept_after_me(client, rt, one)
    r = await client.delete(f"/api/v1/users/{member.id}/sessions/{one_id}", headers=admin)
    assert r.status_code == 204, r.text
    assert_problem(await client.get("/api/v1/me", headers=one), 401, "invalid_token")
    await _kept_after_me(client, rt, two)
    r = await client.delete(f"/api/v1/users/{member.id}/sessions", headers=admin)
    assert r.status_code in (200, 204), r.text
    assert_problem(await client.get("/api/v1/me", headers=two), 401, "invalid_token")
    # An admin's reset of a lost factor ends the person's sessions everywhere.
    three = auth(await login(client, "acme", member.login))
    await enrol_totp(client, three)
    await _kept_after_me(client, rt, three)
    r = await client.delete(f"/api/v1/users/{member.id}/mfa", headers=admin)
    assert r.status_code == 204, r.text
    assert_problem(await client.get("/api/v1/me", headers=three), 401, "invalid_token")


async def test_integration_tokens_are_never_kept(app, client, rt, world: World) -> None:
    """API keys and OAuth access tokens are looked up on every request, so revoking one (or
    disabling its client) needs no announcement to stop it on every instance."""
    admin = auth(await login(client, "acme", world.acme["admin"].login))
    cache = principal_cache.of(rt)
    made = await register(client, admin, kind="confidential")
    async with oauth_client(app, made, scope=None) as c:
        token = await c.fetch_token(TOKEN, grant_type="client_credentials")
    r = await client.post(
        "/api/v1/api-keys", json={"name": "HRIS", "scopes": ["users:read"]}, headers=admin
    )
    assert r.status_code == 201, r.text
    key_id, key = r.json()["api_key"]["id"], {"Authorization": f"Bearer {r.json()['key']}"}
    oauth = {"Authorization": f"Bearer {token['access_token']}"}
    kept = len(cache)
    for h in (key, oauth, key, oauth):
        assert (await client.get("/api/v1/users", headers=h)).status_code == 200
    assert len(cache) == kept  # neither was kept
    assert (await client.delete(f"/api/v1/api-keys/{key_id}", headers=admin)).status_code == 204
    assert_problem(await client.get("/api/v1/users", headers=key), 401, "invalid_token")
    r = await client.post(f"/api/v1/oauth/clients/{made['client']['id']}/disable", headers=admin)
    assert r.status_code == 200, r.text
    assert_problem(await client.get("/api/v1/users", headers=oauth), 401, "invalid_token")


async def test_an_unannounced_change_is_kept_30_seconds_at_most(client, rt, world: World):
    h = auth(await login(client, "acme", world.acme["member"].login))
    await _kept_after_me(client, rt, h)
    await _revoke_unannounced(h, rt)
    # The trade rule 6 allows: up to 30 s for a change nobody announced...
    await _me(client, h)
    clock.travel(29.5)
    await _me(client, h)
    # ...and not a moment longer.
    clock.travel(0.6)
    assert_problem(await client.get("/api/v1/me", headers=h), 401, "invalid_token")


async def test_an_entry_never_outlives_its_access_token(settings, world: World) -> None:
    async with app_client(settings, access_token_ttl=10) as c:
        h = auth(await login(c, "acme", world.acme["member"].login))
        await _me(c, h)
        clock.travel(9)
        await _me(c, h)
        clock.travel(1.5)  # 30 s of cache left, but the token is over
        assert_problem(await c.get("/api/v1/me", headers=h), 401, "invalid_token")


async def test_the_cache_can_be_turned_off(settings, world: World) -> None:
    async with app_client(settings, principal_cache_seconds=0) as c:
        body = await login(c, "acme", world.acme["member"].login)
        await _me(c, auth(body))
        await AuthSession.update({AuthSession.revoked_at: clock.utcnow()}).where(
            AuthSession.revoked_at.is_null()
        )
        assert_problem(await c.get("/api/v1/me", headers=auth(body)), 401, "invalid_token")


def _principal(org: uuid.UUID, user: uuid.UUID, session: uuid.UUID) -> Principal:
    return Principal(
        org_id=org, user_id=user, role="member", permissions=frozenset(), session_id=session
    )


def _cache_with(*principals: Principal) -> PrincipalCache:
    cache = PrincipalCache(30)
    far = [clock.utcnow().replace(year=2999)]
    for p in principals:
        cache.put(str(p.session_id), p, cache.epoch, far)
    return cache


def test_each_kind_of_announcement_drops_whom_it_names() -> None:
    org, other_org = uuid.uuid4(), uuid.uuid4()
    ann, bob = uuid.uuid4(), uuid.uuid4()
    s1, s2, s3, s4 = (uuid.uuid4() for _ in range(4))
    people = [
        _principal(org, ann, s1),
        _principal(org, ann, s2),
        _principal(org, bob, s3),
        _principal(other_org, uuid.uuid4(), s4),
    ]

    def left(topic: str, event: dict[str, Any]) -> set[uuid.UUID]:
        cache = _cache_with(*people)
        cache.heard(topic, event)
        return {p.session_id for p in people if str(p.session_id) in cache}  # type: ignore[misc]

    user_topic = realtime.user_control_topic(org, ann)
    ended = {"type": realtime.SESSION_ENDED, "session_ids": [str(s1)]}
    assert left(user_topic, ended) == {s2, s3, s4}
    assert left(user_topic, {"type": realtime.TOPICS_CHANGED}) == {s3, s4}
    assert left(realtime.org_control_topic(org), {"type": realtime.TOPICS_CHANGED}) == {s4}
    changed = {"type": "principals.changed", "org_id": str(org)}
    assert left(PRINCIPALS_TOPIC, changed) == {s4}
    assert left(PRINCIPALS_TOPIC, changed | {"user_ids": [str(bob)]}) == {s1, s2, s4}
    assert left(PRINCIPALS_TOPIC, changed | {"session_ids": [str(s2)]}) == {s1, s3, s4}
    # Anything not understood forgets everything.
    assert left(PRINCIPALS_TOPIC, {"type": "principals.changed"}) == set()
    assert left("org:x", {"type": "?"}) == set()
    assert left(user_topic, {"type": realtime.SESSION_ENDED, "session_ids": ["nope"]}) == set()


def test_a_look_up_that_raced_an_announcement_is_not_kept() -> None:
    cache = PrincipalCache(30)
    p = _principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    before = cache.epoch  # the look-up starts…
    cache.drop([uuid.uuid4()])  # …an announcement arrives meanwhile (about anyone)…
    cache.put("k", p, before, [])  # …its answer may predate the change: not kept
    assert "k" not in cache
    cache.put("k", p, cache.epoch, [])
    assert cache.get("k") == p


async def test_announcements_through_the_relay_are_heard_in_process(rt) -> None:
    p = _principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    principal_cache.of(rt).put("k", p, principal_cache.of(rt).epoch, [])
    assert p.session_id is not None
    await realtime.announce_sessions_ended(rt.relay, p.org_id, p.user_id, [p.session_id])
    assert "k" not in principal_cache.of(rt)


async def _until(condition: Any, seconds: float = 10) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "timed out"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def test_nothing_is_kept_unless_subscribed_to_the_announcements() -> None:
    p = _principal(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    # Redis configured but not reachable: never used.
    dead = PrincipalCache(30, RedisWatch(f"redis://127.0.0.1:{free_port()}/0"))
    try:
        for _ in range(3):
            dead.put("k", p, dead.epoch, [])
            assert dead.get("k") is None and not dead.usable
            await asyncio.sleep(0.2)
    finally:
        await dead.close()
    server = RedisServer.start()
    cache = PrincipalCache(30, RedisWatch(server.url))
    relay = RedisRelay(server.url)
    try:
        assert not cache.usable  # start-up: not subscribed yet
        await _until(lambda: cache.usable)
        cache.put("k", p, cache.epoch, [])
        assert cache.get("k") == p
        # Another instance's announcement arrives through Redis.
        assert p.session_id is not None
        await realtime.announce_sessions_ended(relay, p.org_id, p.user_id, [p.session_id])
        await _until(lambda: "k" not in cache, 2)
        cache.put("k", p, cache.epoch, [])
        server.stop()  # an outage: off at once, and forgotten
        await _until(lambda: not cache.usable, 2)
        assert cache.get("k") is None and len(cache) == 0
        cache.put("k", p, cache.epoch, [])
        assert len(cache) == 0
    finally:
        await relay.close()
        await cache.close()
        if server.proc.poll() is None:
            server.stop()
