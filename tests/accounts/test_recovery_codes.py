"""T4: recovery codes."""

from __future__ import annotations

import re

from staffroom.accounts.tables import RecoveryCode
from tests.support.flows import auth, code_now, enrol_totp, mfa_login
from tests.support.world import PASSWORD, World, assert_problem, login

FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


async def test_ten_distinct_codes_of_80_bits(client, world: World) -> None:
    _, codes = await enrol_totp(client, auth(await login(client, "acme", "member@acme.example")))
    assert len(codes) == len(set(codes)) == 10
    assert all(FORMAT.match(c) for c in codes)


async def test_each_code_signs_in_once(client, world: World) -> None:
    member = world.acme["member"]
    _, codes = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    assert (await mfa_login(client, "acme", member.login, PASSWORD, codes[0])).status_code == 200
    assert_problem(
        await mfa_login(client, "acme", member.login, PASSWORD, codes[0]), 401, "invalid_mfa_code"
    )
    assert (await mfa_login(client, "acme", member.login, PASSWORD, codes[1])).status_code == 200


async def test_typed_codes_are_forgiving(client, world: World) -> None:
    member = world.acme["member"]
    _, codes = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    sloppy = codes[2].replace("-", " ").lower()
    assert (await mfa_login(client, "acme", member.login, PASSWORD, sloppy)).status_code == 200


async def test_regeneration_invalidates_the_old_set(client, world: World) -> None:
    member = world.acme["member"]
    h = auth(await login(client, "acme", member.login))
    secret, old = await enrol_totp(client, h)
    r = await client.post("/api/v1/me/mfa/recovery-codes", json={"code": "000000"}, headers=h)
    assert_problem(r, 401, "invalid_mfa_code")
    r = await client.post(
        "/api/v1/me/mfa/recovery-codes", json={"code": code_now(secret)}, headers=h
    )
    assert r.status_code == 200
    new = r.json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert_problem(
        await mfa_login(client, "acme", member.login, PASSWORD, old[0]), 401, "invalid_mfa_code"
    )
    assert (await mfa_login(client, "acme", member.login, PASSWORD, new[0])).status_code == 200


async def test_codes_are_stored_only_as_digests(client, world: World) -> None:
    member = world.acme["member"]
    _, codes = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    rows = await RecoveryCode.select().where(RecoveryCode.user == member.id)
    assert len(rows) == 10
    stored = " ".join(str(r) for r in rows)
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["code_hash"]) for r in rows)
