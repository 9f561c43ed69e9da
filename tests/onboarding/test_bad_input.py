"""Onboarding's bad input: a clear 4xx, nothing created, and the attempt audited."""

from __future__ import annotations

from staffroom.accounts.tables import User
from staffroom.core.tables import AuditEvent
from staffroom.onboarding.tables import AccessCode, Invite
from tests.support.flows import auth
from tests.support.world import World, assert_problem, login

PW = "Harbour-Kettle-Sable-19"
GARBAGE = ("x", "A" * 256, "../../etc/passwd", "%00", "' OR 1=1 --", "🦄" * 10)


async def _failures(action: str) -> list[str]:
    rows = (
        await AuditEvent.select()
        .where((AuditEvent.action == action) & (AuditEvent.outcome == "failure"))
        .output(load_json=True)
    )
    return [r["details"]["reason"] for r in rows]


async def test_garbage_links_and_codes_are_refused_and_audited(client, world: World) -> None:
    users = await User.count()
    for token in GARBAGE:
        r = await client.post(
            "/api/v1/public/signup/complete",
            json={"token": token, "display_name": "Eve", "password": PW},
        )
        assert_problem(r, 404, "signup_not_found")
        r = await client.post(
            f"/api/v1/public/invites/{token.replace('/', '_')}/accept",
            json={"display_name": "Eve", "password": PW},
        )
        # A NUL in the path is refused at the edge (400) before any lookup.
        assert r.status_code == (400 if token == "%00" else 404), r.text
        r = await client.post(
            "/api/v1/public/access-codes/redeem",
            json={"org": "acme", "code": token[:64], "username": "eve.x", "password": PW},
        )
        assert_problem(r, 404, "invalid_code")
    assert await User.count() == users
    assert await _failures("signup.completed") == ["signup_not_found"] * len(GARBAGE)
    assert await _failures("invite.accepted") == ["invite_not_found"] * (len(GARBAGE) - 1)
    assert await _failures("access_code.redeemed") == ["invalid_code"] * len(GARBAGE)


async def test_uploads_that_are_not_csv_are_refused_and_audited(client, world: World) -> None:
    h = auth(await login(client, "acme", "hr_admin@acme.example"))
    for body, code in (
        ("email\nä@acme.example\n".encode("latin-1"), "csv_not_utf8"),
        (b"%PDF-1.7\x00\x00binary", "csv_invalid"),
        (b'email\n"unterminated@acme.example\n', "csv_invalid"),
    ):
        r = await client.post(
            "/api/v1/invites/import", params={"dry_run": "false"}, content=body, headers=h
        )
        assert_problem(r, 422, code)
        r = await client.post(
            "/api/v1/access-codes/import", params={"label": "x"}, content=body, headers=h
        )
        assert_problem(r, 422)
    assert await Invite.count() == 0 and await AccessCode.count() == 0
    assert await _failures("invite.imported") == ["csv_not_utf8", "csv_invalid", "csv_invalid"]
    assert len(await _failures("access_codes.created")) == 3
    r = await client.post(
        "/api/v1/invites/import", content=b"email\n" + b"a@acme.example\n" * 700_000, headers=h
    )
    assert_problem(r, 413)
    assert await Invite.count() == 0
