"""T5: sessions, rotation and revocation."""

from __future__ import annotations

import asyncio

from staffroom.accounts.tables import AuthSession, RefreshToken
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from tests.support.flows import auth
from tests.support.world import World, assert_problem, login


async def _refresh(client, token):
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_tokens_are_opaque_256_bit_and_stored_hashed(client, world: World) -> None:
    body = await login(client, "acme", "member@acme.example")
    assert len(body["access_token"]) >= 43 and len(body["refresh_token"]) >= 43
    assert body["expires_in"] <= 3600 and body["token_type"] == "bearer"
    dump = str(await AuthSession.select()) + str(await RefreshToken.select())
    assert body["access_token"] not in dump and body["refresh_token"] not in dump


async def test_refresh_rotates_both_tokens(client, world: World) -> None:
    first = await login(client, "acme", "member@acme.example")
    r = await _refresh(client, first["refresh_token"])
    assert r.status_code == 200
    second = r.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/me", headers=auth(second))).status_code == 200
    assert_problem(await client.get("/api/v1/me", headers=auth(first)), 401, "invalid_token")


async def test_reused_refresh_token_revokes_the_family(client, world: World) -> None:
    first = await login(client, "acme", "member@acme.example")
    second = (await _refresh(client, first["refresh_token"])).json()
    assert_problem(await _refresh(client, first["refresh_token"]), 401, "invalid_refresh_token")
    # the thief's replay also kills the legitimate holder's newer tokens
    assert_problem(await _refresh(client, second["refresh_token"]), 401, "invalid_refresh_token")
    assert_problem(await client.get("/api/v1/me", headers=auth(second)), 401)
    event = await AuditEvent.select().where(AuditEvent.action == "session.refresh_reuse").first()
    assert event["outcome"] == "denied" and event["org"] == world.acme.id


async def test_concurrent_refresh_with_one_token_is_treated_as_reuse(client, world: World) -> None:
    # Exactly one caller can rotate the token; the others present a used token, which is
    # reuse: the family is revoked, so even the tokens the winner got stop working.
    body = await login(client, "acme", "member@acme.example")
    results = await asyncio.gather(*[_refresh(client, body["refresh_token"]) for _ in range(3)])
    statuses = sorted(r.status_code for r in results)
    assert statuses in ([200, 401, 401], [401, 401, 401])
    for r in results:
        if r.status_code == 200:
            assert_problem(await client.get("/api/v1/me", headers=auth(r.json())), 401)
            assert_problem(await _refresh(client, r.json()["refresh_token"]), 401)
    session = await AuthSession.select().where(AuthSession.org == world.acme.id).first()
    assert session["revoked_at"] is not None and session["revoke_reason"] == "refresh_reuse"


async def test_logout_ends_access_and_refresh(client, world: World) -> None:
    body = await login(client, "acme", "member@acme.example")
    assert (await client.post("/api/v1/auth/logout", headers=auth(body))).status_code == 204
    assert_problem(await client.get("/api/v1/me", headers=auth(body)), 401)
    assert_problem(await _refresh(client, body["refresh_token"]), 401)


async def test_deactivation_kills_every_session(client, world: World) -> None:
    member = world.acme["member"]
    sessions = [await login(client, "acme", member.login) for _ in range(3)]
    admin = auth(await login(client, "acme", "admin@acme.example"))
    r = await client.post(f"/api/v1/users/{member.id}/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "deactivated"
    for s in sessions:
        assert_problem(await client.get("/api/v1/me", headers=auth(s)), 401)
        assert_problem(await _refresh(client, s["refresh_token"]), 401)
    r = await client.post(f"/api/v1/users/{member.id}/reactivate", headers=admin)
    assert r.json()["status"] == "active"
    await login(client, "acme", member.login)


async def test_list_and_revoke_own_sessions(client, world: World) -> None:
    phone = await login(client, "acme", "member@acme.example", headers={"User-Agent": "phone"})
    laptop = await login(client, "acme", "member@acme.example", headers={"User-Agent": "laptop"})
    r = await client.get("/api/v1/me/sessions", headers=auth(laptop))
    items = r.json()["items"]
    assert len(items) == 2
    current = [s for s in items if s["current"]]
    assert len(current) == 1 and current[0]["user_agent"] == "laptop"
    other = next(s for s in items if not s["current"])
    assert (
        await client.delete(f"/api/v1/me/sessions/{other['id']}", headers=auth(laptop))
    ).status_code == 204
    assert_problem(await client.get("/api/v1/me", headers=auth(phone)), 401)
    assert len((await client.get("/api/v1/me/sessions", headers=auth(laptop))).json()["items"]) == 1


async def test_someone_elses_session_is_not_found(client, world: World) -> None:
    victim = await login(client, "acme", "admin@acme.example")
    sid = (await client.get("/api/v1/me/sessions", headers=auth(victim))).json()["items"][0]["id"]
    attacker = auth(await login(client, "acme", "member@acme.example"))
    assert_problem(
        await client.delete(f"/api/v1/me/sessions/{sid}", headers=attacker),
        404,
        "session_not_found",
    )
    assert (await client.get("/api/v1/me", headers=auth(victim))).status_code == 200


async def test_access_token_expires_but_refresh_still_works(client, world: World) -> None:
    body = await login(client, "acme", "member@acme.example")
    clock.travel(901)
    assert_problem(await client.get("/api/v1/me", headers=auth(body)), 401, "invalid_token")
    r = await _refresh(client, body["refresh_token"])
    assert r.status_code == 200
    assert (await client.get("/api/v1/me", headers=auth(r.json()))).status_code == 200


async def test_idle_session_expires(client, world: World) -> None:
    body = await login(client, "acme", "member@acme.example")
    clock.travel(15 * 24 * 3600)
    assert_problem(await _refresh(client, body["refresh_token"]), 401, "invalid_refresh_token")


async def test_absolute_lifetime_ends_even_an_active_session(client, world: World) -> None:
    body = await login(client, "acme", "member@acme.example")
    token = body["refresh_token"]
    for _ in range(3):  # refreshed every 10 days: never idle, still capped at 30 days
        clock.travel(10 * 24 * 3600 + 60)
        r = await _refresh(client, token)
        if r.status_code != 200:
            break
        token = r.json()["refresh_token"]
    assert_problem(r, 401, "invalid_refresh_token")


async def test_garbage_bearer_tokens_are_401(client, world: World) -> None:
    for header in ["Bearer ", "Bearer nope", "Basic abc", "Bearer " + "x" * 5000, "bearer"]:
        r = await client.get("/api/v1/me", headers={"Authorization": header})
        assert_problem(r, 401)
