"""Bulk invites from CSV: edge cases, row-by-row dry-run report, idempotent real run, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from staffroom.core.tables import MailMessage
from staffroom.onboarding.tables import Invite
from tests.support.flows import auth
from tests.support.world import World, assert_problem, login


async def _import(client, h, body: bytes | str, dry_run: bool):
    content = body.encode() if isinstance(body, str) else body
    return await client.post(
        "/api/v1/invites/import",
        params={"dry_run": str(dry_run).lower()},
        content=content,
        headers=h | {"content-type": "text/csv"},
    )


async def _hr(client) -> dict[str, str]:
    return auth(await login(client, "acme", "hr_admin@acme.example"))


async def test_dry_run_reports_every_row_and_changes_nothing(client, world: World) -> None:
    hr = await _hr(client)
    await client.post("/api/v1/groups", json={"name": "Depot"}, headers=hr)
    await client.post("/api/v1/invites", json={"email": "pending@acme.example"}, headers=hr)
    csv = (
        "\ufeffEmail;Display Name;ROLE;Groups;employee_id\n"
        "ok@acme.example;Olga;member;Depot;E1\n"
        "member@acme.example;Mia;member;;E2\n"
        "pending@acme.example;Pia;;;E3\n"
        "OK@acme.example;Olga again;member;;E4\n"
        "not-an-address;X;member;;E5\n"
        "r@acme.example;R;wizard;;E6\n"
        "a@acme.example;A;admin;;E7\n"
        "g@acme.example;G;member;Nowhere;E8\n"
        'f@acme.example;=HYPERLINK("http://x");member;;E9\n'
        '"q@acme.example";"Quinn; the quoted";member;Depot;E10\n'
        ";;;;\n"
    )
    mails_before = await MailMessage.count()
    r = await _import(client, hr, csv, dry_run=True)
    assert r.status_code == 200, r.text
    report = r.json()
    outcomes = [(row["line"], row["outcome"]) for row in report["rows"]]
    assert outcomes == [
        (2, "invite"),
        (3, "already_member"),
        (4, "already_invited"),
        (5, "duplicate_row"),
        (6, "invalid_email"),
        (7, "unknown_role"),
        (8, "role_not_allowed"),
        (9, "unknown_group"),
        (10, "formula_cell"),
        (11, "invite"),
    ]
    assert report["dry_run"] is True and report["invited"] == 0 and report["total"] == 10
    assert report["counts"]["invite"] == 2
    assert await Invite.count() == 1 and await MailMessage.count() == mails_before


async def test_real_run_invites_and_is_idempotent(client, world: World) -> None:
    hr = await _hr(client)
    csv = 'email,display_name,groups\nOne@acme.example,One,\ntwo@acme.example,"Two, Jr.",\n'
    r = await _import(client, hr, csv, dry_run=False)
    assert r.json()["invited"] == 2
    rows = await Invite.select().order_by(Invite.email)
    assert [x["email"] for x in rows] == ["one@acme.example", "two@acme.example"]
    assert rows[1]["display_name"] == "Two, Jr."
    assert await MailMessage.count().where(MailMessage.template == "invite") == 2
    again = (await _import(client, hr, csv, dry_run=False)).json()
    assert again["invited"] == 0 and again["counts"] == {"already_invited": 2}
    assert await Invite.count() == 2


async def test_not_csv_not_utf8_and_oversized_are_refused(client, world: World) -> None:
    hr = await _hr(client)
    assert_problem(await _import(client, hr, "name\nx\n", True), 422, "csv_no_email_column")
    assert_problem(
        await _import(client, hr, "email\n\xe9@x.example\n".encode("latin-1"), True),
        422,
        "csv_not_utf8",
    )
    assert_problem(await _import(client, hr, b"\x89PNG\r\n\x1a\n\x00\x00", True), 422)
    assert_problem(await _import(client, hr, "", True), 422, "csv_empty")
    big = b"email\n" + b"x@acme.example\n" * 600_000
    assert_problem(await _import(client, hr, big, True), 413)
    member = auth(await login(client, "acme", "member@acme.example"))
    assert_problem(await _import(client, member, "email\nz@acme.example\n", False), 403)
    assert await Invite.count() == 0


async def test_ten_thousand_rows_import_in_bulk(client, world: World) -> None:
    owner = auth(await login(client, "acme", "owner@acme.example"))
    await client.patch("/api/v1/org", json={"invite_daily_cap": 20000}, headers=owner)
    csv = "email,display_name\n" + "".join(
        f"worker{i}@acme.example,Worker {i}\n" for i in range(10_000)
    )
    r = await _import(client, owner, csv, dry_run=False)
    assert r.status_code == 200, r.text
    assert r.json()["invited"] == 10_000
    assert await Invite.count() == 10_000
    assert await MailMessage.count().where(MailMessage.status == "pending") == 10_000


async def test_import_respects_the_daily_cap_all_or_nothing(client, world: World) -> None:
    owner = auth(await login(client, "acme", "owner@acme.example"))
    await client.patch("/api/v1/org", json={"invite_daily_cap": 3}, headers=owner)
    csv = "email\n" + "".join(f"p{i}@acme.example\n" for i in range(5))
    assert_problem(await _import(client, owner, csv, dry_run=False), 429)
    assert await Invite.count() == 0


async def test_cli_import_with_progress(tmp_path: Path, client, world: World) -> None:
    path = tmp_path / "staff.csv"
    path.write_text("email;display_name\ncli1@acme.example;C1\ncli2@acme.example;C2\nbad;B\n")
    env = os.environ.copy()
    cmd = [sys.executable, "-m", "staffroom", "invite", "import", str(path), "--org", "acme"]
    dry = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "would invite 2 of 3 rows" in dry.stdout and "invalid_email" in dry.stderr
    assert await Invite.count() == 0
    real = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert real.returncode == 0, real.stderr
    assert "2 invited of 3 rows" in real.stdout
    assert await Invite.count() == 2
    missing = subprocess.run(
        [*cmd[:-1], "nope"], capture_output=True, text=True, env=env, timeout=120
    )
    assert missing.returncode == 2 and "org_not_found" in missing.stderr
