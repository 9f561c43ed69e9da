"""Multi-step flows the tests repeat: setup links, TOTP enrolment, MFA login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from staffroom.accounts import totp
from staffroom.core import clock


def token_from_link(link: str) -> str:
    return link.split("#token=", 1)[1]


def code_now(secret: str, offset_steps: int = 0) -> str:
    return totp.code_at(secret, totp.current_step(clock.now_ts()) + offset_steps)


def next_step() -> None:
    """Move to the next 30 s window, so a fresh code is not a replay."""
    clock.travel(totp.STEP_SECONDS)


async def enrol_totp(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, list[str]]:
    """Set up and confirm TOTP; returns (secret, recovery codes)."""
    r = await client.post("/api/v1/me/mfa/totp", headers=headers)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    r = await client.post(
        "/api/v1/me/mfa/totp/confirm", json={"code": code_now(secret)}, headers=headers
    )
    assert r.status_code == 200, r.text
    next_step()
    return secret, r.json()["recovery_codes"]


async def mfa_login(
    client: httpx.AsyncClient, org: str, login_: str, password: str, code: str
) -> httpx.Response:
    r = await client.post(
        "/api/v1/auth/login", json={"org": org, "login": login_, "password": password}
    )
    assert r.status_code == 200 and r.json()["mfa_required"] is True, r.text
    return await client.post(
        "/api/v1/auth/mfa", json={"mfa_token": r.json()["mfa_token"], "code": code}
    )


def auth(body: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {body['access_token']}"}


def _delivered(msg_id: Any) -> tuple[str, str]:
    """(text, html) of a message the outbox backend delivered, read from its .eml file:
    the database keeps no body once a message is sent."""
    import email
    from email import policy

    from staffroom.settings import load_settings

    path = Path(load_settings(env_file=None).data_dir) / "outbox" / f"{msg_id}.eml"
    if not path.is_file():
        return "", ""
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    parts = {p.get_content_type(): p.get_content() for p in parsed.walk() if not p.is_multipart()}
    return parts.get("text/plain", ""), parts.get("text/html", "")


async def mails_to(address: str) -> list[dict[str, Any]]:
    """Mails to an address, newest first, with their bodies as the recipient reads them:
    opened from the sealed copy while queued, from the outbox's .eml file once delivered."""
    from staffroom.core.kms import keyring_for
    from staffroom.core.mail.queue import open_body
    from staffroom.core.tables import MailMessage
    from staffroom.settings import load_settings

    keys = keyring_for(load_settings(env_file=None))
    rows = (
        await MailMessage.select()
        .where(MailMessage.to_address == address)
        .order_by(MailMessage.created_at, ascending=False)
    )
    opened = []
    for row in rows:
        queued = row["sealed_body"] or row["text_body"]
        text, html = open_body(keys, row) if queued else _delivered(row["id"])
        opened.append(row | {"text_body": text, "html_body": html})
    return opened


async def mailed_token(address: str, page: str) -> str:
    """The token of the newest `…/{page}#token=…` link mailed to an address."""
    import re

    for mail in await mails_to(address):
        match = re.search(rf"/{page}#token=([A-Za-z0-9_-]+)", mail["text_body"])
        if match:
            return match.group(1)
    raise AssertionError(f"no {page} link mailed to {address}")
