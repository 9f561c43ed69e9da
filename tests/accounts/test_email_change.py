"""Changing one's own address: password, link to the new mailbox, domain policy (T8)."""

from __future__ import annotations

from datetime import timedelta

from staffroom.accounts.tables import User
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from tests.onboarding.test_domains import bind
from tests.support.flows import auth, mailed_token, mails_to
from tests.support.world import PASSWORD, World, assert_problem, login


async def ask(client, h, email: str, password: str = PASSWORD):
    return await client.post(
        "/api/v1/me/email", json={"email": email, "password": password}, headers=h
    )


async def confirm(client, token: str):
    return await client.post("/api/v1/auth/email-change/confirm", json={"token": token})


async def test_the_address_changes_when_the_new_mailbox_confirms(client, world: World) -> None:
    h = auth(await login(client, "acme", "member@acme.example"))
    r = await ask(client, h, "Mia.New@ACME.example")
    assert r.status_code == 202, r.text
    notice = await mails_to("member@acme.example")
    assert len(notice) == 1 and "mia.new@acme.example" in notice[0]["text_body"]
    assert "#token=" not in notice[0]["text_body"]
    me = (await client.get("/api/v1/me", headers=h)).json()
    assert me["email"] == "member@acme.example"  # nothing changes before confirmation
    token = await mailed_token("mia.new@acme.example", "confirm-email")
    assert (await confirm(client, token)).status_code == 204
    me = (await client.get("/api/v1/me", headers=h)).json()
    assert me["email"] == "mia.new@acme.example" and me["email_verified"] is True
    await login(client, "acme", "mia.new@acme.example")
    assert_problem(await confirm(client, token), 401, "invalid_token")
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action)]
    assert "user.email_change_requested" in actions and "user.email_changed" in actions


async def test_a_wrong_password_taken_or_same_address_changes_nothing(client, world: World) -> None:
    h = auth(await login(client, "acme", "member@acme.example"))
    assert_problem(await ask(client, h, "x@acme.example", "wrong-password-1"), 401)
    assert_problem(await ask(client, h, "editor@ACME.example"), 409, "email_taken")
    assert_problem(await ask(client, h, "member@acme.example"), 422, "same_email")
    assert_problem(await ask(client, h, "not an address"), 422, "invalid_email")
    assert await mails_to("x@acme.example") == []
    assert await mails_to("member@acme.example") == []
    # An address in another org is no concern of this one.
    assert (await ask(client, h, "owner@globex.example")).status_code == 202


async def test_a_restricted_org_keeps_addresses_in_its_domains(
    client, world: World, dns_zone
) -> None:
    admin = auth(await login(client, "acme", "admin@acme.example"))
    await bind(client, admin, dns_zone)
    h = auth(await login(client, "acme", "member@acme.example"))
    # Asked before the org restricts itself, confirmed after: refused at confirmation too.
    assert (await ask(client, h, "mia@gmail.com")).status_code == 202
    token = await mailed_token("mia@gmail.com", "confirm-email")
    await client.patch("/api/v1/org", json={"restrict_email_domains": True}, headers=admin)
    assert_problem(await confirm(client, token), 422, "email_domain_not_allowed")
    assert_problem(await ask(client, h, "mia@outlook.com"), 422, "email_domain_not_allowed")
    assert (await ask(client, h, "mia@acme.example")).status_code == 202
    assert (await User.select(User.email).where(User.id == world.acme["member"].id).first())[
        "email"
    ] == "member@acme.example"


async def test_links_expire_and_only_the_newest_counts(client, world: World) -> None:
    h = auth(await login(client, "acme", "member@acme.example"))
    await ask(client, h, "one@acme.example")
    first = await mailed_token("one@acme.example", "confirm-email")
    await ask(client, h, "two@acme.example")
    second = await mailed_token("two@acme.example", "confirm-email")
    assert_problem(await confirm(client, first), 401, "invalid_token")
    clock.travel(timedelta(hours=24, seconds=1).total_seconds())
    assert_problem(await confirm(client, second), 401, "invalid_token")
    assert not await User.exists().where(User.email.is_in(["one@acme.example", "two@acme.example"]))


async def test_staff_without_email_can_add_one(client, world: World) -> None:
    h = auth(await login(client, "acme", "floor-acme"))
    assert (await ask(client, h, "floor@acme.example")).status_code == 202
    assert (
        await confirm(client, await mailed_token("floor@acme.example", "confirm-email"))
    ).status_code == 204
    me = (await client.get("/api/v1/me", headers=h)).json()
    assert me["email"] == "floor@acme.example" and me["username"] == "floor-acme"
