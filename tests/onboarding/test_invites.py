"""T7 (invites): single-use 256-bit links, stored hashed, bound to the invited address."""

from __future__ import annotations

import asyncio
import re

from staffroom.accounts.tables import User
from staffroom.core import clock
from staffroom.core.tables import AuditEvent
from staffroom.onboarding.tables import Invite
from tests.support.flows import auth, mails_to
from tests.support.world import World, assert_problem, login

PW = "Juniper-Lattice-Ferry-31"


async def _invite(client, h, email="new.hire@acme.example", **extra):
    return await client.post("/api/v1/invites", json={"email": email, **extra}, headers=h)


async def _token_for(email: str) -> str:
    rows = await mails_to(email)
    match = re.search(r"#token=([A-Za-z0-9_-]+)", rows[0]["text_body"])
    assert match
    return match.group(1)


async def test_invite_accept_creates_a_member_with_role_and_groups(client, world: World) -> None:
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    group = (await client.post("/api/v1/groups", json={"name": "Depot"}, headers=hr)).json()
    r = await _invite(
        client,
        hr,
        "New.Hire@ACME.example",
        role="guest",
        group_ids=[group["id"]],
        display_name="Nia Hire",
    )
    assert r.status_code == 201, r.text
    invite = r.json()
    assert invite["email"] == "new.hire@acme.example" and invite["status"] == "pending"
    token = await _token_for("new.hire@acme.example")
    assert len(token) >= 43
    assert token not in str(await Invite.select())  # only the digest is stored
    view = await client.get(f"/api/v1/public/invites/{token}")
    assert view.json()["email"] == "new.hire@acme.example" and view.json()["org"]["slug"] == "acme"
    # The invitee sees who invited them.
    assert (
        view.json()["invited_by"]
        == (await client.get("/api/v1/me", headers=hr)).json()["display_name"]
    )
    r = await client.post(
        f"/api/v1/public/invites/{token}/accept", json={"display_name": "Nia", "password": PW}
    )
    assert r.status_code == 200, r.text
    me = (await client.get("/api/v1/me", headers=auth(r.json()))).json()
    assert me["email"] == "new.hire@acme.example" and me["role"] == "guest"
    assert me["group_ids"] == [group["id"]] and me["email_verified"] is True
    listed = (await client.get("/api/v1/invites", params={"status": "accepted"}, headers=hr)).json()
    assert [i["accepted_user_id"] for i in listed["items"]] == [me["id"]]
    assert_problem(
        await client.post(
            f"/api/v1/public/invites/{token}/accept", json={"display_name": "Again", "password": PW}
        ),
        410,
        "invite_accepted",
    )


async def test_a_forwarded_link_cannot_register_another_address(client, world: World) -> None:
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    await _invite(client, hr)
    token = await _token_for("new.hire@acme.example")
    r = await client.post(
        f"/api/v1/public/invites/{token}/accept",
        json={"display_name": "Eve", "password": PW, "email": "eve@evil.example"},
    )
    assert_problem(r, 400, "invalid_request")
    assert not await User.exists().where(User.email == "eve@evil.example")


async def test_concurrent_double_accept_makes_one_user(client, world: World) -> None:
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    await _invite(client, hr)
    token = await _token_for("new.hire@acme.example")
    results = await asyncio.gather(
        *[
            client.post(
                f"/api/v1/public/invites/{token}/accept",
                json={"display_name": f"N{i}", "password": PW},
            )
            for i in range(4)
        ]
    )
    assert sorted(r.status_code for r in results) == [200, 410, 410, 410]
    assert await User.count().where(User.email == "new.hire@acme.example") == 1


async def test_expiry_resend_and_revoke(client, world: World) -> None:
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    invite = (await _invite(client, hr)).json()
    first = await _token_for("new.hire@acme.example")
    clock.travel(7 * 86400 + 1)
    assert_problem(await client.get(f"/api/v1/public/invites/{first}"), 410, "invite_expired")
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    listed = (await client.get("/api/v1/invites", params={"status": "expired"}, headers=hr)).json()
    assert [i["id"] for i in listed["items"]] == [invite["id"]]
    r = await client.post(f"/api/v1/invites/{invite['id']}/resend", headers=hr)
    assert r.json()["status"] == "pending" and r.json()["sent_count"] == 2
    second = await _token_for("new.hire@acme.example")
    assert second != first
    assert_problem(await client.get(f"/api/v1/public/invites/{first}"), 404, "invite_not_found")
    assert (await client.get(f"/api/v1/public/invites/{second}")).status_code == 200
    assert (await client.delete(f"/api/v1/invites/{invite['id']}", headers=hr)).status_code == 204
    assert_problem(await client.get(f"/api/v1/public/invites/{second}"), 410, "invite_revoked")
    assert_problem(await client.post(f"/api/v1/invites/{invite['id']}/resend", headers=hr), 409)
    actions = {e["action"] for e in await AuditEvent.select(AuditEvent.action)}
    assert {"invite.created", "invite.resent", "invite.revoked"} <= actions


async def test_invites_refuse_members_duplicates_and_bad_input(client, world: World) -> None:
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    assert_problem(await _invite(client, hr, "Member@acme.example"), 409, "already_member")
    assert (await _invite(client, hr)).status_code == 201
    assert_problem(await _invite(client, hr), 409, "already_invited")
    assert_problem(await _invite(client, hr, "not-an-address"), 422, "invalid_email")
    assert_problem(await _invite(client, hr, "x@acme.example", role="owner"), 403, "owner_only")
    assert_problem(
        await _invite(client, hr, "x@acme.example", role="admin"), 403, "role_exceeds_own"
    )
    assert_problem(await _invite(client, hr, "x@acme.example", role="nope"), 422, "unknown_role")
    foreign = auth(await login(client, "globex", "hr_admin@globex.example"))
    g = (await client.post("/api/v1/groups", json={"name": "G"}, headers=foreign)).json()
    assert_problem(
        await _invite(client, hr, "x@acme.example", group_ids=[g["id"]]), 422, "unknown_group"
    )
    member = auth(await login(client, "acme", "member@acme.example"))
    assert_problem(await _invite(client, member, "y@acme.example"), 403, "missing_permission")
    assert await Invite.count() == 1


async def test_garbage_tokens_and_other_orgs_tokens(client, world: World) -> None:
    for token in ["x", "A" * 43, "%2e%2e"]:
        assert_problem(await client.get(f"/api/v1/public/invites/{token}"), 404)
        assert_problem(
            await client.post(
                f"/api/v1/public/invites/{token}/accept", json={"display_name": "X", "password": PW}
            ),
            404,
        )
    # A password-reset token is not an invite token.
    await client.post(
        "/api/v1/auth/password-reset", json={"org": "acme", "login": "member@acme.example"}
    )
    reset = await _token_for("member@acme.example")
    assert_problem(await client.get(f"/api/v1/public/invites/{reset}"), 404)
    assert await User.count() == len(world.acme.people) + len(world.globex.people)


async def test_weak_password_does_not_burn_the_invite(client, world: World) -> None:
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    await _invite(client, hr)
    token = await _token_for("new.hire@acme.example")
    r = await client.post(
        f"/api/v1/public/invites/{token}/accept",
        json={"display_name": "N", "password": "password1234"},
    )
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/public/invites/{token}/accept", json={"display_name": "N", "password": PW}
    )
    assert r.status_code == 200


async def test_daily_cap_stops_invite_floods(client, world: World) -> None:
    owner = auth(await login(client, "acme", "owner@acme.example"))
    await client.patch("/api/v1/org", json={"invite_daily_cap": 2}, headers=owner)
    assert (await _invite(client, owner, "a@acme.example")).status_code == 201
    assert (await _invite(client, owner, "b@acme.example")).status_code == 201
    r = await _invite(client, owner, "c@acme.example")
    assert_problem(r, 429, "rate_limited")
    assert r.headers["retry-after"]
    clock.travel(86401)
    owner = auth(await login(client, "acme", "owner@acme.example"))
    assert (await _invite(client, owner, "c@acme.example")).status_code == 201


async def test_offboarding_revokes_the_leavers_pending_invites(client, world: World) -> None:
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    await _invite(client, hr)
    token = await _token_for("new.hire@acme.example")
    admin = auth(await login(client, "acme", "admin@acme.example"))
    await client.post(f"/api/v1/users/{world.acme['hr_admin'].id}/deactivate", headers=admin)
    assert_problem(await client.get(f"/api/v1/public/invites/{token}"), 410, "invite_revoked")


async def test_invite_tokens_never_reach_the_access_log(client, world: World, caplog) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="staffroom.access")
    hr = auth(await login(client, "acme", "hr_admin@acme.example"))
    await _invite(client, hr)
    token = await _token_for("new.hire@acme.example")
    await client.get(f"/api/v1/public/invites/{token}")
    paths = [getattr(r, "path", "") for r in caplog.records]
    assert "/api/v1/public/invites/***" in paths
    assert not any(token in p for p in paths)


async def test_invite_mail_over_real_smtp_and_the_link_works(
    settings, world: World, tmp_path
) -> None:
    """A real SMTP server (aiosmtpd, STARTTLS) receives the invite; the test follows the link."""
    import msgspec
    from aiosmtpd.controller import Controller

    from staffroom.core.kms import keyring_for
    from staffroom.core.mail import MailQueue, make_backend
    from tests.core.test_mail import Inbox, _cert
    from tests.support.apps import app_client
    from tests.support.servers import free_port

    ca, server_ctx = _cert(tmp_path)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True
    )
    controller.start()
    try:
        smtp = {
            "mail_backend": "smtp",
            "smtp_host": "localhost",
            "smtp_port": port,
            "smtp_security": "starttls",
            "smtp_ca_file": str(ca),
        }
        async with app_client(settings, **smtp) as c:
            hr = auth(await login(c, "acme", "hr_admin@acme.example"))
            r = await c.post(
                "/api/v1/invites", json={"email": "smtp.hire@acme.example"}, headers=hr
            )
            assert r.status_code == 201
            queue = MailQueue(
                make_backend(msgspec.structs.replace(settings, **smtp)), keyring_for(settings)
            )
            assert await queue.deliver_due() == 1
            assert len(inbox.messages) == 1
            mail = inbox.messages[0]
            assert mail["To"] == "smtp.hire@acme.example"
            text = mail.get_body(preferencelist=("plain",)).get_content()
            token = re.search(r"#token=([A-Za-z0-9_-]+)", text).group(1)
            r = await c.post(
                f"/api/v1/public/invites/{token}/accept",
                json={"display_name": "Sam", "password": PW},
            )
            assert r.status_code == 200, r.text
    finally:
        controller.stop()


async def test_guessing_invite_links_is_rate_limited_but_good_links_are_not(
    settings, world: World
) -> None:
    from tests.support.apps import app_client

    async with app_client(settings, login_fail_limit_ip=3) as c:
        hr = auth(await login(c, "acme", "hr_admin@acme.example"))
        for i in range(4):  # more good accepts than the limit, all from one address
            await c.post("/api/v1/invites", json={"email": f"ok{i}@acme.example"}, headers=hr)
            token = await _token_for(f"ok{i}@acme.example")
            r = await c.post(
                f"/api/v1/public/invites/{token}/accept",
                json={"display_name": "Ok", "password": PW},
            )
            assert r.status_code == 200, r.text
        for _ in range(3):
            r = await c.post(
                "/api/v1/public/invites/guess/accept", json={"display_name": "X", "password": PW}
            )
            assert_problem(r, 404)
        r = await c.post(
            "/api/v1/public/invites/guess/accept", json={"display_name": "X", "password": PW}
        )
        assert_problem(r, 429, "rate_limited")
