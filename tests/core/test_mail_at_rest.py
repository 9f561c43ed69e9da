"""Mail holding live links keeps them only sealed, drops them once delivered, and its
outbox files are the owner's only (SECURITY.md rule 1): nothing in the database, a backup
or the outbox folder's permissions lets a reader accept an invitation."""

from __future__ import annotations

import email
import sqlite3
import stat
import subprocess
import tempfile
from email import policy
from pathlib import Path

import asyncpg

from staffroom.accounts.service import orgs
from staffroom.compliance.service import backups, snapshots
from staffroom.core.tables import MailMessage
from tests.onboarding.test_domains import bind
from tests.support.flows import auth, mailed_token
from tests.support.world import PASSWORD, World, login


async def _database_text(url: str) -> str:
    """Every row of every table, as text."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            names = [
                r[0]
                for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return repr([list(db.execute(f'SELECT * FROM "{n}"')) for n in names])
    conn = await asyncpg.connect(url)
    try:
        names = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        ]
        return repr([await conn.fetch(f'SELECT * FROM "{n}"') for n in names])
    finally:
        await conn.close()


async def _backup_text(rt) -> str:
    """The database snapshot inside a fresh backup, decrypted, as text (SQL for pg_dump's
    compressed format)."""
    info = await backups.create(rt)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            manifest = await backups._unpack(rt, info.id, Path(tmp), backups._quiet)
            unpacked = Path(tmp) / "unpacked"
            if manifest["engine"] == "sqlite":
                return await _database_text(f"sqlite:///{unpacked / 'database.sqlite3'}")
            sql = subprocess.run(
                [snapshots._pg_tool("pg_restore"), "--file=-", str(unpacked / "database.pgdump")],
                capture_output=True,
                check=True,
            )
            return sql.stdout.decode()
    finally:
        for key in await rt.archive.keys(backups.PREFIX):
            if info.id in key:
                await rt.archive.remove(key)


async def test_no_token_issued_is_readable_at_rest(
    client, rt, settings, world: World, dns_zone
) -> None:
    admin = auth(await login(client, "acme", "admin@acme.example"))
    await bind(client, admin, dns_zone)
    _, _, setup_link = await orgs.create_org(
        rt, "initech", "Initech", "it@initech.example", "Ida Owner"
    )
    tokens = {"owner setup": setup_link.split("#token=", 1)[1]}
    r = await client.post("/api/v1/invites", json={"email": "new.hire@acme.example"}, headers=admin)
    assert r.status_code == 201, r.text
    tokens["invite"] = await mailed_token("new.hire@acme.example", "invite")
    r = await client.post("/api/v1/public/signup", json={"org": "acme", "email": "jo@acme.example"})
    assert r.status_code == 202
    tokens["signup"] = await mailed_token("jo@acme.example", "signup")
    r = await client.post(
        "/api/v1/auth/password-reset", json={"org": "acme", "login": "editor@acme.example"}
    )
    assert r.status_code == 202
    tokens["reset"] = await mailed_token("editor@acme.example", "reset-password")
    member = auth(await login(client, "acme", "member@acme.example"))
    r = await client.post(
        "/api/v1/me/email",
        json={"email": "mia.new@acme.example", "password": PASSWORD},
        headers=member,
    )
    assert r.status_code == 202, r.text
    tokens["email change"] = await mailed_token("mia.new@acme.example", "confirm-email")
    url = settings.effective_database_url

    def leaked(text: str) -> list[str]:
        return [kind for kind, token in tokens.items() if token in text]

    # Queued: sealed.
    assert await MailMessage.count().where(MailMessage.status == "pending") == 5  # and a notice
    assert leaked(await _database_text(url)) == []
    assert leaked(await _backup_text(rt)) == []

    outbox = Path(settings.data_dir) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    assert await rt.mail.deliver_due() == 5
    # Delivered: the recipient has the link, the database has none, sealed or not.
    sent = await MailMessage.select().where(MailMessage.status == "sent")
    assert len(sent) == 5
    assert all(m["sealed_body"] == m["text_body"] == m["html_body"] == "" for m in sent)
    assert leaked(await _database_text(url)) == []
    assert leaked(await _backup_text(rt)) == []
    # The outbox folder is the mailbox: the links are there, for its owner only.
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    files = set(outbox.glob("*.eml")) - before
    assert len(files) == 5
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    mails = [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    in_files = "".join(
        part.get_content() for m in mails for part in m.walk() if not part.is_multipart()
    )
    assert sorted(leaked(in_files)) == sorted(set(tokens) - {"owner setup"})
    # The tests' helper reads delivered mail from the outbox.
    assert await mailed_token("new.hire@acme.example", "invite") == tokens["invite"]
