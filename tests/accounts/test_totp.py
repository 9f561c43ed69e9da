"""T3: TOTP second factor."""

from __future__ import annotations

import asyncio
import base64

import pytest

from staffroom.accounts import totp
from staffroom.accounts.tables import TotpFactor
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from tests.support.flows import auth, code_now, enrol_totp, mfa_login, next_step
from tests.support.world import PASSWORD, World, assert_problem, login

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix_time", "eight_digits"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc6238_sha1_vectors(unix_time: int, eight_digits: str) -> None:
    # Our codes are the 6-digit truncation of the RFC's 8-digit SHA-1 vectors.
    code = eight_digits[-6:]
    assert totp.code_at(RFC_SECRET, totp.current_step(unix_time)) == code
    assert totp.matching_step(RFC_SECRET, code, unix_time) == totp.current_step(unix_time)


def test_one_step_either_side_is_accepted_two_are_not() -> None:
    now = 1_700_000_000.0
    step = totp.current_step(now)
    for delta in (-1, 0, 1):
        assert (
            totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, step + delta), now)
            == step + delta
        )
    for delta in (-2, 2):
        assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, step + delta), now) is None
    assert totp.matching_step(RFC_SECRET, "12345", now) is None
    assert totp.matching_step(RFC_SECRET, "abcdef", now) is None


async def test_setup_gives_secret_uri_and_qr_and_is_inactive_until_confirmed(
    client, world: World
) -> None:
    member = world.acme["member"]
    h = auth(await login(client, "acme", member.login))
    r = await client.post("/api/v1/me/mfa/totp", headers=h)
    assert r.status_code == 200
    body = r.json()
    assert len(base64.b32decode(body["secret"])) * 8 >= 160
    assert body["otpauth_uri"].startswith("otpauth://totp/") and "secret=" in body["otpauth_uri"]
    assert body["qr_svg"].lstrip().startswith("<svg")
    # not active yet: password alone still signs in
    assert "access_token" in await login(client, "acme", member.login)
    r = await client.post("/api/v1/me/mfa/totp/confirm", json={"code": "000000"}, headers=h)
    assert_problem(r, 422, "invalid_mfa_code")
    r = await client.post(
        "/api/v1/me/mfa/totp/confirm", json={"code": code_now(body["secret"])}, headers=h
    )
    assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10
    assert (await login(client, "acme", member.login))["mfa_required"] is True
    assert_problem(await client.post("/api/v1/me/mfa/totp", headers=h), 409, "mfa_already_enabled")


async def test_mfa_login_with_current_code(client, world: World) -> None:
    member = world.acme["member"]
    secret, _ = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    r = await mfa_login(client, "acme", member.login, PASSWORD, code_now(secret))
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = await client.get("/api/v1/me", headers=auth(r.json()))
    assert me.json()["mfa_enabled"] is True


async def test_code_works_once(client, world: World) -> None:
    member = world.acme["member"]
    secret, _ = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    code = code_now(secret)
    assert (await mfa_login(client, "acme", member.login, PASSWORD, code)).status_code == 200
    assert_problem(
        await mfa_login(client, "acme", member.login, PASSWORD, code), 401, "invalid_mfa_code"
    )


async def test_code_works_once_in_parallel(client, world: World) -> None:
    member = world.acme["member"]
    secret, _ = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    challenges = [await login(client, "acme", member.login) for _ in range(4)]
    code = code_now(secret)
    results = await asyncio.gather(
        *[
            client.post("/api/v1/auth/mfa", json={"mfa_token": c["mfa_token"], "code": code})
            for c in challenges
        ]
    )
    assert sorted(r.status_code for r in results) == [200, 401, 401, 401]


async def test_older_step_after_newer_is_a_replay(client, world: World) -> None:
    member = world.acme["member"]
    secret, _ = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    assert (
        await mfa_login(client, "acme", member.login, PASSWORD, code_now(secret, +1))
    ).status_code == 200
    r = await mfa_login(client, "acme", member.login, PASSWORD, code_now(secret, 0))
    assert_problem(r, 401, "invalid_mfa_code")


async def test_five_failures_lock_the_factor(client, world: World) -> None:
    member = world.acme["member"]
    secret, _ = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    challenge = await login(client, "acme", member.login)
    for _ in range(5):
        r = await client.post(
            "/api/v1/auth/mfa", json={"mfa_token": challenge["mfa_token"], "code": "000000"}
        )
        assert_problem(r, 401, "invalid_mfa_code")
    r = await client.post(
        "/api/v1/auth/mfa", json={"mfa_token": challenge["mfa_token"], "code": code_now(secret)}
    )
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) > 0
    clock.travel(901)
    r = await mfa_login(client, "acme", member.login, PASSWORD, code_now(secret))
    assert r.status_code == 200


async def test_secret_is_encrypted_at_rest(client, rt, world: World) -> None:
    member = world.acme["member"]
    secret, _ = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    row = await TotpFactor.select().where(TotpFactor.user == member.id).first()
    assert secret not in row["secret_sealed"]
    assert row["secret_sealed"].startswith("v1.")
    assert rt.keys.decrypt(row["secret_sealed"], f"totp:{member.id}".encode()).decode() == secret


async def test_disable_needs_password_and_code(client, world: World) -> None:
    member = world.acme["member"]
    h = auth(await login(client, "acme", member.login))
    secret, _ = await enrol_totp(client, h)
    r = await client.request(
        "DELETE",
        "/api/v1/me/mfa/totp",
        headers=h,
        json={"password": "Wrong-Password-1", "code": code_now(secret)},
    )
    assert_problem(r, 401, "invalid_password")
    r = await client.request(
        "DELETE", "/api/v1/me/mfa/totp", headers=h, json={"password": PASSWORD, "code": "000000"}
    )
    assert_problem(r, 401, "invalid_mfa_code")
    assert await TotpFactor.exists().where(TotpFactor.user == member.id)
    r = await client.request(
        "DELETE",
        "/api/v1/me/mfa/totp",
        headers=h,
        json={"password": PASSWORD, "code": code_now(secret)},
    )
    assert r.status_code == 204
    assert "access_token" in await login(client, "acme", member.login)
    actions = [
        e["outcome"]
        for e in await AuditEvent.select(AuditEvent.outcome).where(
            AuditEvent.action == "mfa.disable"
        )
    ]
    assert sorted(actions) == ["failure", "failure", "success"]


async def test_org_requiring_mfa_gives_an_enrol_only_session(client, world: World) -> None:
    owner = auth(await login(client, "acme", "owner@acme.example"))
    assert (
        await client.patch("/api/v1/org", json={"require_mfa": True}, headers=owner)
    ).status_code == 200
    body = await login(client, "acme", "hr_admin@acme.example")
    assert body["scope"] == "enrol"
    h = auth(body)
    assert_problem(await client.get("/api/v1/users", headers=h), 403, "mfa_enrolment_required")
    assert_problem(
        await client.patch("/api/v1/me", json={"display_name": "x"}, headers=h),
        403,
        "mfa_enrolment_required",
    )
    assert (await client.get("/api/v1/me", headers=h)).json()["session_scope"] == "enrol"
    await enrol_totp(client, h)
    assert (await client.get("/api/v1/users", headers=h)).status_code == 200
    # the refresh token of the upgraded session keeps the full scope
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.json()["scope"] == "full"


async def test_admin_can_reset_a_lost_factor_and_it_is_audited(client, world: World) -> None:
    member = world.acme["member"]
    member_session = await login(client, "acme", member.login)
    await enrol_totp(client, auth(member_session))
    plain = auth(await login(client, "acme", "editor@acme.example"))
    assert_problem(
        await client.delete(f"/api/v1/users/{member.id}/mfa", headers=plain),
        403,
        "missing_permission",
    )
    admin = auth(await login(client, "acme", "admin@acme.example"))
    assert (await client.delete(f"/api/v1/users/{member.id}/mfa", headers=admin)).status_code == 204
    assert "access_token" in await login(client, "acme", member.login)
    assert_problem(await client.get("/api/v1/me", headers=auth(member_session)), 401)
    event = await AuditEvent.select().where(AuditEvent.action == "mfa.admin_reset").first()
    assert event["target_id"] == str(member.id) and event["actor_id"] == world.acme["admin"].id


async def test_expired_or_garbage_mfa_token_is_rejected(client, world: World) -> None:
    member = world.acme["member"]
    secret, _ = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    challenge = await login(client, "acme", member.login)
    clock.travel(301)
    r = await client.post(
        "/api/v1/auth/mfa", json={"mfa_token": challenge["mfa_token"], "code": code_now(secret)}
    )
    assert_problem(r, 401, "invalid_mfa_token")
    r = await client.post(
        "/api/v1/auth/mfa", json={"mfa_token": "garbage", "code": code_now(secret)}
    )
    assert_problem(r, 401, "invalid_mfa_token")


async def test_enrolment_ends_other_sessions(client, world: World) -> None:
    member = world.acme["member"]
    other = await login(client, "acme", member.login)
    await enrol_totp(client, auth(await login(client, "acme", member.login)))
    assert_problem(await client.get("/api/v1/me", headers=auth(other)), 401)


async def test_confirm_without_setup_is_a_conflict(client, world: World) -> None:
    h = auth(await login(client, "acme", "member@acme.example"))
    next_step()
    assert_problem(
        await client.post("/api/v1/me/mfa/totp/confirm", json={"code": "123456"}, headers=h),
        409,
        "mfa_not_pending",
    )


async def test_turning_mfa_on_restricts_sessions_that_already_exist(client, world: World) -> None:
    member = auth(await login(client, "acme", "member@acme.example"))
    assert (await client.get("/api/v1/users", headers=member)).status_code == 200
    owner = auth(await login(client, "acme", "owner@acme.example"))
    await client.patch("/api/v1/org", json={"require_mfa": True}, headers=owner)
    assert_problem(await client.get("/api/v1/users", headers=member), 403, "mfa_enrolment_required")
    await enrol_totp(client, member)
    assert (await client.get("/api/v1/users", headers=member)).status_code == 200


async def test_disabling_the_factor_where_the_org_requires_one_forces_re_enrolment(
    client, world: World
) -> None:
    owner = auth(await login(client, "acme", "owner@acme.example"))
    h = auth(await login(client, "acme", "member@acme.example"))
    secret, _ = await enrol_totp(client, h)
    await client.patch("/api/v1/org", json={"require_mfa": True}, headers=owner)
    assert (await client.get("/api/v1/users", headers=h)).status_code == 200
    r = await client.request(
        "DELETE",
        "/api/v1/me/mfa/totp",
        headers=h,
        json={"password": PASSWORD, "code": code_now(secret)},
    )
    assert r.status_code == 204
    assert_problem(await client.get("/api/v1/users", headers=h), 403, "mfa_enrolment_required")
