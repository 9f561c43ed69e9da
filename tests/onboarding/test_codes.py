"""T7 (access codes): 80-bit Crockford codes, HMAC-stored, single use, limited, audited."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from staffroom.accounts.tables import User
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from staffroom.onboarding.tables import AccessCode
from tests.support.flows import auth
from tests.support.world import World, assert_problem, login

PW = "Copper-Lagoon-Whistle-77"
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}$")


async def _hr(client, org="acme"):
    return auth(await login(client, org, f"hr_admin@{org}.example"))


async def make(client, h, **body):
    body = {"label": "Hall 3 night shift", "count": 3} | body
    r = await client.post("/api/v1/access-codes", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


async def redeem(client, code, username="forklift.kim", org="acme", headers=None, **extra):
    body = {"org": org, "code": code, "username": username, "password": PW}
    body.setdefault("display_name", "Kim Floor")
    return await client.post(
        "/api/v1/public/access-codes/redeem", json=body | extra, headers=headers
    )


async def test_codes_are_shown_once_and_stored_only_as_digests(client, world: World) -> None:
    h = await _hr(client)
    r = await client.post("/api/v1/access-codes", json={"label": "Depot", "count": 3}, headers=h)
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    created = r.json()
    codes = [c["code"] for c in created["codes"]]
    assert len(set(codes)) == 3 and all(CODE.match(c) for c in codes)
    assert [c["seq"] for c in created["codes"]] == [1, 2, 3]
    assert all(c["redeem_link"].endswith(f"?org=acme#code={c['code']}") for c in created["codes"])
    assert created["batch"]["counts"] == {"unused": 3, "redeemed": 0, "revoked": 0, "expired": 0}
    stored = str(await AccessCode.select()) + str(await AuditEvent.select())
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
    listed = (await client.get("/api/v1/access-codes", headers=h)).json()["items"]
    assert len(listed) == 3 and all("code" not in item for item in listed)
    assert {item["status"] for item in listed} == {"unused"}


async def test_redeeming_creates_a_username_account_with_the_batch_role_and_groups(
    client, world: World
) -> None:
    h = await _hr(client)
    group = (await client.post("/api/v1/groups", json={"name": "Hall 3"}, headers=h)).json()
    created = await make(client, h, role="guest", group_ids=[group["id"]], count=1)
    code = created["codes"][0]["code"]
    r = await redeem(client, code, username="Forklift.Kim")
    assert r.status_code == 200, r.text
    me = (await client.get("/api/v1/me", headers=auth(r.json()))).json()
    assert me["username"] == "forklift.kim" and me["email"] is None
    assert me["role"] == "guest" and me["group_ids"] == [group["id"]]
    assert me["display_name"] == "Kim Floor"
    await login(client, "acme", "forklift.kim", PW)
    assert_problem(await redeem(client, code, username="someone.else"), 410, "code_used")
    listed = (await client.get("/api/v1/access-codes", headers=h)).json()["items"]
    assert listed[0]["status"] == "redeemed" and listed[0]["redeemed_by"] == me["id"]
    events = await AuditEvent.select().where(AuditEvent.action == "access_code.redeemed")
    assert sorted(e["outcome"] for e in events) == ["failure", "success"]


async def test_typed_codes_forgive_case_dashes_spaces_and_lookalike_letters(
    client, world: World
) -> None:
    created = await make(client, await _hr(client), count=1)
    code = created["codes"][0]["code"]
    typed = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert (await redeem(client, f"  {typed} ")).status_code == 200


async def test_concurrent_redemption_of_one_code_makes_exactly_one_account(
    client, world: World
) -> None:
    code = (await make(client, await _hr(client), count=1))["codes"][0]["code"]
    results = await asyncio.gather(*[redeem(client, code, username=f"user.{i}") for i in range(6)])
    assert [r.status_code for r in results].count(200) == 1, [r.text for r in results]
    assert all(r.status_code in (200, 410) for r in results)
    assert await User.count().where(User.username.like("user.%")) == 1


async def test_expired_revoked_and_foreign_codes_are_refused(client, world: World) -> None:
    h = await _hr(client)
    created = await make(client, h, count=3, expires_in_days=1)
    first, second, third = created["codes"]
    r = await client.delete(f"/api/v1/access-codes/{first['id']}", headers=h)
    assert r.status_code == 204
    assert_problem(await redeem(client, first["code"]), 410, "code_revoked")
    assert_problem(await client.delete(f"/api/v1/access-codes/{first['id']}", headers=h), 409)
    # A code of acme, redeemed at globex, is simply not a code there.
    assert_problem(await redeem(client, second["code"], org="globex"), 404, "invalid_code")
    assert_problem(await redeem(client, second["code"], org="nowhere"), 404, "invalid_code")
    assert_problem(await redeem(client, "ABCD-EFGH-JKMN-PQRS"), 404, "invalid_code")
    clock.travel(timedelta(days=1, seconds=1).total_seconds())
    assert_problem(await redeem(client, third["code"]), 410, "code_expired")
    h = await _hr(client)  # a day later: a new session
    batch = await client.get(f"/api/v1/access-codes/batches/{created['batch']['id']}", headers=h)
    assert batch.json()["counts"] == {"unused": 0, "redeemed": 0, "revoked": 1, "expired": 2}
    assert await User.count().where(User.username.is_not_null()) == 2  # the cast's floor staff


async def test_revoking_a_batch_stops_every_unredeemed_code(client, world: World) -> None:
    h = await _hr(client)
    created = await make(client, h, count=4)
    used = created["codes"][0]["code"]
    assert (await redeem(client, used)).status_code == 200
    r = await client.delete(f"/api/v1/access-codes/batches/{created['batch']['id']}", headers=h)
    assert r.status_code == 204
    for item in created["codes"][1:]:
        assert_problem(await redeem(client, item["code"], username="late.one"), 410, "code_revoked")
    batches = (await client.get("/api/v1/access-codes/batches", headers=h)).json()["items"]
    assert batches[0]["counts"] == {"unused": 0, "redeemed": 1, "revoked": 3, "expired": 0}
    assert batches[0]["revoked_at"] is not None


async def test_a_taken_username_or_weak_password_does_not_burn_the_code(
    client, world: World
) -> None:
    code = (await make(client, await _hr(client), count=1))["codes"][0]["code"]
    assert_problem(await redeem(client, code, username="floor-acme"), 409, "username_taken")
    assert_problem(await redeem(client, code, password="password1234"), 422)
    assert_problem(await redeem(client, code, display_name="  "), 422, "invalid_display_name")
    assert_problem(await redeem(client, code, username="a@b.example"), 400)
    assert (await redeem(client, code)).status_code == 200


async def test_redemption_is_limited_per_ip_and_per_org(client, world: World, settings) -> None:
    from tests.support.apps import app_client

    # One instance behind a trusted proxy, two client addresses.
    async with app_client(
        settings,
        trusted_proxies=("198.51.100.0/24",),
        redeem_fail_limit_ip=3,
        redeem_fail_limit_org=5,
    ) as api:
        one, two = ({"X-Forwarded-For": ip} for ip in ("203.0.113.1", "203.0.113.2"))
        good = (await make(api, await _hr(api), count=1))["codes"][0]["code"]
        for _ in range(3):
            assert_problem(await redeem(api, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", headers=one), 404)
        r = await redeem(api, good, headers=one)
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) > 0
        # Another address guesses on: the org's own limit stops the pair of them.
        for _ in range(2):
            assert_problem(await redeem(api, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", headers=two), 404)
        assert_problem(await redeem(api, good, headers=two), 429, "rate_limited")
        # Other orgs are not affected by acme's limit.
        assert_problem(await redeem(api, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", org="globex", headers=two), 404)
    assert not await User.exists().where(User.username == "forklift.kim")


async def test_bound_codes_activate_the_profile_hr_prepared(client, world: World) -> None:
    h = await _hr(client)
    people = [
        {"employee_id": "E-100", "display_name": "Ana Silva"},
        {"employee_id": "E-101", "display_name": "Bo Chen"},
    ]
    created = await make(client, h, count=None, people=people)
    assert [(c["employee_id"], c["display_name"]) for c in created["codes"]] == [
        ("E-100", "Ana Silva"),
        ("E-101", "Bo Chen"),
    ]
    pending = await User.select().where(User.employee_id == "E-100").first()
    assert pending["status"] == "pending" and pending["password_hash"] is None
    listed = (await client.get("/api/v1/users", params={"status": "pending"}, headers=h)).json()
    assert {u["employee_id"] for u in listed["items"]} == {"E-100", "E-101"}
    r = await redeem(client, created["codes"][0]["code"], username="ana", display_name="Hacker")
    assert r.status_code == 200, r.text
    me = (await client.get("/api/v1/me", headers=auth(r.json()))).json()
    assert me["id"] == str(pending["id"]) and me["display_name"] == "Ana Silva"
    assert me["employee_id"] == "E-100" and me["status"] == "active"
    # Listing the same person again (a lost card) is refused once they have signed up …
    r = await client.post(
        "/api/v1/access-codes", json={"label": "again", "people": people[:1]}, headers=h
    )
    assert_problem(r, 409, "already_member")
    # … and replaces the card of someone still pending.
    again = await make(client, h, count=None, label="replacement", people=people[1:])
    assert_problem(await redeem(client, created["codes"][1]["code"], username="bo.chen"), 410)
    assert (await redeem(client, again["codes"][0]["code"], username="bo.chen")).status_code == 200
    assert await User.count().where(User.employee_id == "E-101") == 1


async def test_deactivating_a_pending_person_revokes_their_card(client, world: World) -> None:
    h = await _hr(client)
    created = await make(
        client, h, count=None, people=[{"employee_id": "E-7", "display_name": "Leaver"}]
    )
    person = await User.select().where(User.employee_id == "E-7").first()
    r = await client.post(f"/api/v1/users/{person['id']}/deactivate", headers=h)
    assert r.status_code == 200, r.text
    assert_problem(await redeem(client, created["codes"][0]["code"]), 410, "code_revoked")
    r = await client.post(f"/api/v1/users/{person['id']}/reactivate", headers=h)
    assert r.json()["status"] == "pending"  # reactivation restores login only: there was none
    assert_problem(await redeem(client, created["codes"][0]["code"]), 410, "code_revoked")


async def test_bad_batches_are_refused_and_create_nothing(client, world: World) -> None:
    h = await _hr(client)
    for body, status in (
        ({"label": "x", "count": 0}, 400),
        ({"label": "x", "count": 5001}, 400),
        ({"label": "x"}, 422),
        ({"label": "   ", "count": 1}, 422),
        ({"label": "x", "count": 1, "role": "owner"}, 403),
        ({"label": "x", "count": 1, "role": "nope"}, 422),
        ({"label": "x", "count": 1, "group_ids": ["00000000-0000-4000-8000-000000000000"]}, 422),
        ({"label": "x", "count": 2, "people": [{"employee_id": "A", "display_name": "A"}]}, 422),
        (
            {
                "label": "x",
                "people": [
                    {"employee_id": "A", "display_name": "A"},
                    {"employee_id": "A", "display_name": "B"},
                ],
            },
            422,
        ),
        ({"label": "x", "count": 1, "org": str(world.globex.id)}, 400),
    ):
        r = await client.post("/api/v1/access-codes", json=body, headers=h)
        assert_problem(r, status)
    member = auth(await login(client, "acme", "member@acme.example"))
    assert_problem(
        await client.post("/api/v1/access-codes", json={"label": "x", "count": 1}, headers=member),
        403,
    )
    assert await AccessCode.count() == 0
    assert await User.count().where(User.status == "pending") == 0


async def test_five_thousand_codes_in_one_batch(client, world: World) -> None:
    created = await make(client, await _hr(client), count=5000)
    codes = [c["code"] for c in created["codes"]]
    assert len(set(codes)) == 5000
    assert await AccessCode.count() == 5000
    assert (await redeem(client, codes[-1])).status_code == 200


async def test_typos_at_a_site_behind_one_address_do_not_lock_out_colleagues(
    client, world: World, settings
) -> None:
    from tests.support.apps import app_client

    # A warehouse: every phone reaches us from one public address (default limits).
    async with app_client(settings, trusted_proxies=("198.51.100.0/24",)) as api:
        site = {"X-Forwarded-For": "203.0.113.9"}
        good = [c["code"] for c in (await make(api, await _hr(api), count=2))["codes"]]
        # 20 typos from the site, five each on four phones: every one a plain 404.
        for phone in "abcd":
            for _ in range(5):
                r = await redeem(api, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", headers=site, device_id=phone * 8)
                assert_problem(r, 404, "invalid_code")
        # One phone keeps mistyping: it alone is slowed, waiting twice as long each time.
        waits = []
        for _ in range(15):
            r = await redeem(api, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", headers=site, device_id="a" * 8)
            if r.status_code == 429:
                waits.append(int(r.headers["retry-after"]))
                clock.travel(waits[-1])
            else:
                assert_problem(r, 404, "invalid_code")
        assert waits[:4] == [1, 2, 4, 8], waits
        r = await redeem(api, good[0], headers=site, device_id="a" * 8)
        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 2 ** (len(waits) - 1)
        # Its colleagues at the same address redeem at once, with an app id or without.
        r = await redeem(api, good[0], username="colleague.one", headers=site, device_id="e" * 8)
        assert r.status_code == 200, r.text
        r = await redeem(api, good[1], username="colleague.two", headers=site)
        assert r.status_code == 200, r.text


async def test_a_flood_from_one_address_is_stopped_at_its_ceiling(
    client, world: World, settings
) -> None:
    from tests.support.apps import app_client

    # A new device id for every guess (spoofing is free) gains nothing past the ceiling.
    async with app_client(
        settings,
        trusted_proxies=("198.51.100.0/24",),
        redeem_fail_limit_ip=40,
        redeem_fail_limit_org=1000,
    ) as api:
        flood, other = ({"X-Forwarded-For": ip} for ip in ("203.0.113.1", "203.0.113.2"))
        good = (await make(api, await _hr(api), count=1))["codes"][0]["code"]
        for i in range(40):
            r = await redeem(api, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", headers=flood, device_id=f"dev-{i:04}")
            assert_problem(r, 404, "invalid_code")
        r = await redeem(api, good, headers=flood, device_id="fresh-device")
        assert_problem(r, 429, "rate_limited")
        assert 0 < int(r.headers["retry-after"]) <= 900
        assert (await redeem(api, good, headers=other)).status_code == 200
