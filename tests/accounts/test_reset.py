"""T2: password reset by emailed link."""

from __future__ import annotations

import asyncio
import re

from staffroom.core import clock
from staffroom.core.tables import MailMessage
from tests.support.flows import auth, code_now, enrol_totp, mails_to
from tests.support.world import PASSWORD, World, assert_problem, login

NEW = "Copper-Valley-Orchid-88"


async def _request(client, org: str, who: str):
    return await client.post("/api/v1/auth/password-reset", json={"org": org, "login": who})


async def _link_token(to: str) -> str:
    rows = await mails_to(to)
    assert rows, f"no mail to {to}"
    match = re.search(r"#token=([A-Za-z0-9_-]+)", rows[0]["text_body"])
    assert match
    return match.group(1)


async def test_answer_is_the_same_for_every_kind_of_account(client, rt, world: World) -> None:
    answers = [
        await _request(client, "acme", "member@acme.example"),
        await _request(client, "acme", "nobody@acme.example"),
        await _request(client, "no-such-org", "member@acme.example"),
        await _request(client, "acme", "floor-acme"),  # no email address on file
    ]
    assert {r.status_code for r in answers} == {202}
    assert {r.content for r in answers} == {b'{"status":"accepted"}'}
    mails = await MailMessage.select(MailMessage.to_address)
    assert [m["to_address"] for m in mails] == ["member@acme.example"]


async def test_link_sets_password_once_and_ends_sessions(client, world: World) -> None:
    member = world.acme["member"]
    old_session = await login(client, "acme", member.login)
    assert (await _request(client, "acme", member.login)).status_code == 202
    token = await _link_token(member.login)
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW}
    )
    assert r.status_code == 204, r.text
    assert_problem(await client.get("/api/v1/me", headers=auth(old_session)), 401)
    r = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": old_session["refresh_token"]}
    )
    assert_problem(r, 401)
    await login(client, "acme", member.login, NEW)
    again = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "Another-Fresh-Pass-9"},
    )
    assert_problem(again, 401, "invalid_token")
    await login(client, "acme", member.login, NEW)


async def test_concurrent_use_of_one_link_succeeds_once(client, world: World) -> None:
    member = world.acme["member"]
    await _request(client, "acme", member.login)
    token = await _link_token(member.login)
    results = await asyncio.gather(
        *[
            client.post(
                "/api/v1/auth/password-reset/confirm",
                json={"token": token, "password": f"Parallel-Pass-{i}-xyz"},
            )
            for i in range(4)
        ]
    )
    assert sorted(r.status_code for r in results) == [204, 401, 401, 401]


async def test_link_expires(client, world: World) -> None:
    member = world.acme["member"]
    await _request(client, "acme", member.login)
    token = await _link_token(member.login)
    clock.travel(3601)
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW}
    )
    assert_problem(r, 401, "invalid_token")
    clock.reset()
    await login(client, "acme", member.login)


async def test_new_request_kills_the_older_link(client, world: World) -> None:
    member = world.acme["member"]
    await _request(client, "acme", member.login)
    first = await _link_token(member.login)
    clock.travel(1)
    await _request(client, "acme", member.login)
    second = await _link_token(member.login)
    assert first != second
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": first, "password": NEW}
    )
    assert_problem(r, 401, "invalid_token")
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": second, "password": NEW}
    )
    assert r.status_code == 204


async def test_rejected_password_does_not_burn_the_link(client, world: World) -> None:
    member = world.acme["member"]
    await _request(client, "acme", member.login)
    token = await _link_token(member.login)
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "short"}
    )
    assert_problem(r, 422, "password_too_short")
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW}
    )
    assert r.status_code == 204


async def test_reset_never_bypasses_mfa(client, world: World) -> None:
    member = world.acme["member"]
    secret, _ = await enrol_totp(client, auth(await login(client, "acme", member.login)))
    await _request(client, "acme", member.login)
    token = await _link_token(member.login)
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW}
    )
    assert r.status_code == 204 and r.content == b""  # no tokens handed out
    body = await login(client, "acme", member.login, NEW)
    assert body["mfa_required"] is True and "access_token" not in body
    r = await client.post(
        "/api/v1/auth/mfa", json={"mfa_token": body["mfa_token"], "code": code_now(secret)}
    )
    assert r.status_code == 200


async def test_garbage_and_deactivated_tokens_are_rejected(client, world: World) -> None:
    for token in ["x", "A" * 43, "../../etc/passwd"]:
        r = await client.post(
            "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW}
        )
        assert_problem(r, 401, "invalid_token")
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": "A" * 300, "password": NEW}
    )
    assert_problem(r, 400, "invalid_request")
    member = world.acme["member"]
    await _request(client, "acme", member.login)
    token = await _link_token(member.login)
    admin = auth(await login(client, "acme", "admin@acme.example"))
    await client.post(f"/api/v1/users/{member.id}/deactivate", headers=admin)
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW}
    )
    assert_problem(r, 401, "invalid_token")


async def test_requests_are_rate_limited_per_login(client, world: World) -> None:
    for _ in range(3):
        assert (await _request(client, "acme", "member@acme.example")).status_code == 202
    r = await _request(client, "acme", "member@acme.example")
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) > 0
    assert (await _request(client, "acme", "admin@acme.example")).status_code == 202
    assert await MailMessage.count() == 4


async def test_reset_mail_is_in_the_users_language(client, world: World) -> None:
    h = auth(await login(client, "acme", "member@acme.example"))
    assert (await client.patch("/api/v1/me", json={"locale": "de"}, headers=h)).status_code == 200
    await _request(client, "acme", "member@acme.example")
    (mail,) = await mails_to("member@acme.example")
    assert "zurücksetzen" in mail["subject"]
    assert "#token=" in mail["html_body"] and "<a href=" in mail["html_body"]
    assert PASSWORD not in mail["text_body"]
