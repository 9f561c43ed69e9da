"""Self-signup in verified domains (T8) and its single-use 24 h links (T7)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from staffroom.accounts.tables import User
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from staffroom.onboarding.tables import SignupRequest
from tests.onboarding.test_domains import bind, orgs_for
from tests.support.flows import auth, mailed_token, mails_to
from tests.support.world import World, assert_problem, login

PW = "Quarry-Meadow-Tinsel-58"


async def _it(client):
    return auth(await login(client, "acme", "admin@acme.example"))


async def ask(client, email: str, org: str = "acme", **kw):
    return await client.post("/api/v1/public/signup", json={"org": org, "email": email}, **kw)


async def complete(client, token: str, name: str = "Jane Doe", password: str = PW):
    return await client.post(
        "/api/v1/public/signup/complete",
        json={"token": token, "display_name": name, "password": password},
    )


async def test_signup_in_a_bound_domain_creates_a_member_with_the_binding_defaults(
    client, world: World, dns_zone
) -> None:
    h = await _it(client)
    group = (await client.post("/api/v1/groups", json={"name": "Office"}, headers=h)).json()
    await bind(client, h, dns_zone, default_role="editor", default_group_ids=[group["id"]])
    r = await ask(client, "Jane.Doe@ACME.example")
    assert r.status_code == 202 and r.json() == {"status": "accepted"}
    token = await mailed_token("jane.doe@acme.example", "signup")
    assert len(token) >= 43
    assert token not in str(await SignupRequest.select())  # only its digest is stored
    preview = await client.post("/api/v1/public/signup/preview", json={"token": token})
    assert preview.json()["email"] == "jane.doe@acme.example"
    assert preview.json()["org"]["slug"] == "acme"
    r = await complete(client, token)
    assert r.status_code == 200, r.text
    me = (await client.get("/api/v1/me", headers=auth(r.json()))).json()
    assert me["email"] == "jane.doe@acme.example" and me["email_verified"] is True
    assert me["role"] == "editor" and me["group_ids"] == [group["id"]]
    assert_problem(await complete(client, token, "Again"), 410, "signup_used")
    actions = {e["action"] for e in await AuditEvent.select(AuditEvent.action)}
    assert {"signup.requested", "signup.completed"} <= actions


async def test_every_request_answers_the_same_and_only_bound_addresses_get_a_link(
    client, world: World, dns_zone
) -> None:
    h = await _it(client)
    await bind(client, h, dns_zone)
    await client.post("/api/v1/domains", json={"domain": "pending.example"}, headers=h)
    cases = [
        ("acme", "jane@acme.example"),  # bound: gets a link
        ("acme", "member@acme.example"),  # already a member: gets a reminder
        ("acme", "jane@pending.example"),  # claimed, never verified
        ("acme", "jane@gmail.com"),
        ("acme", "jane@acme.example.evil.com"),
        ("acme", "jane@eu.acme.example"),  # subdomains not allowed
        ("globex", "kim@acme.example"),  # bound to another org
        ("no-such-org", "lee@acme.example"),
    ]
    answers = set()
    for org, email in cases:
        r = await ask(client, email, org)
        answers.add((r.status_code, r.content, r.headers.get("content-type")))
    assert len(answers) == 1 and next(iter(answers))[:2] == (202, b'{"status":"accepted"}'), answers
    assert len(await mails_to("jane@acme.example")) == 1
    reminder = await mails_to("member@acme.example")
    assert len(reminder) == 1 and "already" in reminder[0]["subject"]
    assert "#token=" not in reminder[0]["text_body"]
    for _, email in cases[2:]:
        assert await mails_to(email) == [], email
    assert await SignupRequest.count() == 1


async def test_plus_addresses_are_in_their_domain_and_get_their_own_link(
    client, world: World, dns_zone
) -> None:
    await bind(client, await _it(client), dns_zone)
    await ask(client, "jane+news@acme.example")
    await ask(client, "jane+acme.example@evil.example")
    assert await mailed_token("jane+news@acme.example", "signup")
    assert await mails_to("jane+acme.example@evil.example") == []
    assert await orgs_for(client, "jane+acme.example@evil.example") == []


async def test_concurrent_completion_creates_exactly_one_account(
    client, world: World, dns_zone
) -> None:
    await bind(client, await _it(client), dns_zone)
    await ask(client, "jane@acme.example")
    token = await mailed_token("jane@acme.example", "signup")
    results = await asyncio.gather(*[complete(client, token, f"Jane {i}") for i in range(5)])
    assert sorted(r.status_code for r in results).count(200) == 1, [r.text for r in results]
    assert all(r.status_code in (200, 409, 410) for r in results)
    assert await User.count().where(User.email == "jane@acme.example") == 1


async def test_links_expire_after_24_hours_and_a_new_request_replaces_the_old_link(
    client, world: World, dns_zone
) -> None:
    await bind(client, await _it(client), dns_zone)
    await ask(client, "jane@acme.example")
    first = await mailed_token("jane@acme.example", "signup")
    clock.travel(1)
    await ask(client, "jane@acme.example")
    second = await mailed_token("jane@acme.example", "signup")
    assert first != second
    assert_problem(await complete(client, first), 404, "signup_not_found")
    clock.travel(timedelta(hours=24, seconds=1).total_seconds())
    assert_problem(await complete(client, second), 410, "signup_expired")
    assert not await User.exists().where(User.email == "jane@acme.example")


async def test_a_weak_password_does_not_burn_the_link(client, world: World, dns_zone) -> None:
    await bind(client, await _it(client), dns_zone)
    await ask(client, "jane@acme.example")
    token = await mailed_token("jane@acme.example", "signup")
    assert_problem(await complete(client, token, password="password123"), 422)
    assert_problem(await complete(client, token, name="   "), 422, "invalid_display_name")
    assert (await complete(client, token)).status_code == 200


async def test_unbinding_the_domain_voids_links_already_sent(
    client, world: World, dns_zone
) -> None:
    h = await _it(client)
    bound = await bind(client, h, dns_zone)
    await ask(client, "jane@acme.example")
    token = await mailed_token("jane@acme.example", "signup")
    await client.delete(f"/api/v1/domains/{bound['id']}", headers=h)
    assert_problem(await complete(client, token), 410, "domain_not_bound")
    assert not await User.exists().where(User.email == "jane@acme.example")


async def test_tokens_of_another_kind_are_refused(client, world: World, dns_zone) -> None:
    h = await _it(client)
    await bind(client, h, dns_zone)
    await client.post("/api/v1/invites", json={"email": "new@acme.example"}, headers=h)
    invite_token = await mailed_token("new@acme.example", "invite")
    assert_problem(await complete(client, invite_token), 404, "signup_not_found")
    await ask(client, "jane@acme.example")
    signup_token = await mailed_token("jane@acme.example", "signup")
    r = await client.post(
        f"/api/v1/public/invites/{signup_token}/accept",
        json={"display_name": "Jane", "password": PW},
    )
    assert_problem(r, 404, "invite_not_found")
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": signup_token, "password": PW}
    )
    assert_problem(r, 401, "invalid_token")
    assert (
        await User.count().where(User.email.is_in(["jane@acme.example", "new@acme.example"])) == 0
    )


async def test_signup_requests_are_rate_limited_per_address(client, world: World, dns_zone) -> None:
    await bind(client, await _it(client), dns_zone)
    for _ in range(3):
        assert (await ask(client, "jane@acme.example")).status_code == 202
    r = await ask(client, "JANE@acme.example")
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) > 0
    assert len(await mails_to("jane@acme.example")) == 3
    assert_problem(await ask(client, "not-an-address"), 422, "invalid_email")


async def test_mfa_required_orgs_get_an_enrolment_session(client, world: World, dns_zone) -> None:
    h = await _it(client)
    await bind(client, h, dns_zone)
    owner = auth(await login(client, "acme", "owner@acme.example"))
    await client.patch("/api/v1/org", json={"require_mfa": True}, headers=owner)
    await ask(client, "jane@acme.example")
    r = await complete(client, await mailed_token("jane@acme.example", "signup"))
    assert r.status_code == 200 and r.json()["scope"] == "enrol"
    assert_problem(await client.get("/api/v1/users", headers=auth(r.json())), 403)
