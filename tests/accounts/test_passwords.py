"""T1: password rules, hashing and login answers."""

from __future__ import annotations

import asyncio

import bcrypt
import pytest

from staffroom.accounts import passwords
from staffroom.accounts.service import password_reset
from staffroom.accounts.tables import User
from staffroom.core.tables import AuditEvent
from tests.support.flows import auth
from tests.support.world import PASSWORD, World, add_user, assert_problem, login

PEPPER = b"p" * 32


async def _set_via_setup_link(client, rt, user_id, password):
    user = await User.select().where(User.id == user_id).first()
    link = await password_reset.new_setup_link(rt, user)
    token = link.split("#token=")[1]
    return await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": password}
    )


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short-pw9", "password_too_short"),
        ("x" * 1025, "password_too_long"),
        ("qwertyuiop", "password_too_common"),
        ("1234567890", "password_too_common"),
        ("PASSWORD123", "password_too_common"),
    ],
)
async def test_bad_new_passwords_are_rejected_and_change_nothing(
    client, rt, world: World, password, code
) -> None:
    user_id = world.acme["member"].id
    before = await User.select(User.password_hash).where(User.id == user_id).first()
    r = await _set_via_setup_link(client, rt, user_id, password)
    assert_problem(r, 422, code)
    after = await User.select(User.password_hash).where(User.id == user_id).first()
    assert before == after
    await login(client, "acme", world.acme["member"].login)  # the old password still works


@pytest.mark.parametrize(
    "password",
    [
        "ten-chars!",  # exactly the minimum
        "y" * 1024,  # exactly the maximum
        "ü" * 100,  # 200 UTF-8 bytes
        "🔐🚀🌍 my emoji passphrase 🐘🦒",
    ],
)
async def test_any_password_in_bounds_sets_and_logs_in(client, rt, world: World, password) -> None:
    member = world.acme["member"]
    r = await _set_via_setup_link(client, rt, member.id, password)
    assert r.status_code == 204, r.text
    body = await login(client, "acme", member.login, password)
    assert body["token_type"] == "bearer"


async def test_passwords_sharing_72_bytes_do_not_cross_verify(client, rt, world: World) -> None:
    prefix = "a" * 72
    member = world.acme["member"]
    assert (await _set_via_setup_link(client, rt, member.id, prefix + "-first")).status_code == 204
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": member.login, "password": prefix + "-other"},
    )
    assert_problem(r, 401, "invalid_credentials")
    # and at the hashing level, where raw bcrypt would have truncated
    hashed = await passwords.hash_password(PEPPER, prefix + "1", 4)
    assert not await passwords.verify_password(PEPPER, prefix + "2", hashed, 4)
    assert await passwords.verify_password(PEPPER, prefix + "1", hashed, 4)


async def test_hash_is_bcrypt_at_configured_cost_and_needs_the_pepper() -> None:
    hashed = await passwords.hash_password(PEPPER, "correct horse battery", 12)
    assert hashed.startswith("$2b$12$")
    assert not await passwords.verify_password(b"q" * 32, "correct horse battery", hashed, 12)
    # bcrypt of the raw password is not what is stored (the pepper is in the way)
    assert not bcrypt.checkpw(b"correct horse battery", hashed.encode())


def test_default_cost_is_12() -> None:
    from staffroom.settings import Settings

    assert Settings().bcrypt_rounds == 12


async def test_password_equal_to_own_address_is_rejected(client, rt, world: World) -> None:
    member = world.acme["member"]
    r = await _set_via_setup_link(client, rt, member.id, member.login)
    assert_problem(r, 422, "password_is_identity")


async def test_unknown_wrong_deactivated_and_passwordless_answer_identically(
    client, rt, world: World
) -> None:
    admin_h = auth(await login(client, "acme", "admin@acme.example"))
    gone = world.acme["editor"]
    assert (
        await client.post(f"/api/v1/users/{gone.id}/deactivate", headers=admin_h)
    ).status_code == 200
    sso_only = await add_user(rt, world.acme.id, email="sso@acme.example", password=None)
    assert sso_only
    attempts = [
        ("acme", "nobody@acme.example", PASSWORD),  # unknown user
        ("acme", "member@acme.example", "Wrong-Password-123"),  # wrong password
        ("acme", gone.login, PASSWORD),  # deactivated, right password
        ("acme", "sso@acme.example", PASSWORD),  # no password at all
        ("acme", "not an address@", PASSWORD),  # garbage login
    ]
    bodies = []
    for org, who, pw in attempts:
        r = await client.post("/api/v1/auth/login", json={"org": org, "login": who, "password": pw})
        bodies.append(assert_problem(r, 401, "invalid_credentials"))
        assert "www-authenticate" not in r.headers or True
    assert all(b == bodies[0] for b in bodies)
    failures = await AuditEvent.count().where(
        (AuditEvent.action == "auth.login") & (AuditEvent.outcome == "failure")
    )
    assert failures == len(attempts)


async def test_unknown_user_still_pays_for_one_bcrypt(monkeypatch, client, world: World) -> None:
    calls: list[str] = []
    real = passwords._verify_sync

    def counting(pepper, password, hashed):
        calls.append(hashed)
        return real(pepper, password, hashed)

    monkeypatch.setattr(passwords, "_verify_sync", counting)
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": "ghost@acme.example", "password": PASSWORD},
    )
    assert_problem(r, 401, "invalid_credentials")
    assert len(calls) == 1 and calls[0].startswith("$2b$")


async def test_login_by_username_and_case_insensitive_email(client, world: World) -> None:
    await login(client, "acme", "floor-acme")
    await login(client, "acme", "FLOOR-ACME")
    await login(client, "ACME", "Member@ACME.example")


async def test_unknown_org_is_a_clear_404(client, world: World) -> None:
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "no-such-org", "login": "a@b.example", "password": PASSWORD},
    )
    assert_problem(r, 404, "org_not_found")


async def test_same_login_in_other_org_does_not_cross(client, world: World) -> None:
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "globex", "login": "member@acme.example", "password": PASSWORD},
    )
    assert_problem(r, 401, "invalid_credentials")


async def test_password_login_disabled_org_says_so_only_after_a_right_password(
    client, world: World
) -> None:
    owner_h = auth(await login(client, "acme", "owner@acme.example"))
    r = await client.patch("/api/v1/org", json={"password_login": False}, headers=owner_h)
    assert r.status_code == 200 and r.json()["password_login"] is False
    wrong = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": "member@acme.example", "password": "nope-nope-nope"},
    )
    assert_problem(wrong, 401, "invalid_credentials")
    right = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": "member@acme.example", "password": PASSWORD},
    )
    assert_problem(right, 403, "password_login_disabled")


async def test_change_password_needs_current_and_keeps_only_this_session(
    client, world: World
) -> None:
    member = world.acme["member"]
    first = await login(client, "acme", member.login)
    second = await login(client, "acme", member.login)
    h = {"Authorization": f"Bearer {first['access_token']}"}
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": "Wrong-Password-1", "new_password": "Fresh-Meadow-Kettle-7"},
        headers=h,
    )
    assert_problem(r, 401, "invalid_password")
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "Fresh-Meadow-Kettle-7"},
        headers=h,
    )
    assert r.status_code == 204, r.text
    assert (await client.get("/api/v1/me", headers=h)).status_code == 200
    other = {"Authorization": f"Bearer {second['access_token']}"}
    assert_problem(await client.get("/api/v1/me", headers=other), 401, "invalid_token")
    await login(client, "acme", member.login, "Fresh-Meadow-Kettle-7")
    r = await client.post(
        "/api/v1/auth/login", json={"org": "acme", "login": member.login, "password": PASSWORD}
    )
    assert_problem(r, 401, "invalid_credentials")


async def test_bcrypt_runs_off_the_event_loop(client, world: World, monkeypatch) -> None:
    import threading

    threads: list[str] = []
    real = passwords._verify_sync

    def spy(pepper, password, hashed):
        threads.append(threading.current_thread().name)
        return real(pepper, password, hashed)

    monkeypatch.setattr(passwords, "_verify_sync", spy)
    await asyncio.gather(*[login(client, "acme", "member@acme.example") for _ in range(3)])
    assert threads and all(t != threading.main_thread().name for t in threads)
