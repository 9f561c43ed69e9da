"""Mail: outbox folder, real SMTP with STARTTLS, retries, templates in two languages."""

from __future__ import annotations

import asyncio
import email
import ssl
from email import policy
from pathlib import Path

import msgspec
import pytest
from aiosmtpd.controller import Controller

from staffroom.core import clock
from staffroom.core.kms import keyring_for
from staffroom.core.mail import MailQueue, make_backend
from staffroom.core.mail.templates import render
from staffroom.core.tables import MailMessage
from tests.support.apps import app_client
from tests.support.certs import self_signed
from tests.support.servers import free_port
from tests.support.world import World

CTX = {
    "org_name": "Acme",
    "display_name": "Mia",
    "link": "https://app.example/reset#token=abc",
    "ttl_minutes": 60,
}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 No such user here"
        if address.startswith("full@"):
            return "452 4.2.2 Mailbox full, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _cert(tmp: Path) -> tuple[Path, ssl.SSLContext]:
    cert, key = self_signed(tmp)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    return cert, server_ctx


@pytest.fixture
def smtp(tmp_path: Path, settings):
    ca, server_ctx = _cert(tmp_path)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=server_ctx, require_starttls=True
    )
    smtp_settings = msgspec.structs.replace(
        settings,
        mail_backend="smtp",
        smtp_host="localhost",
        smtp_port=port,
        smtp_security="starttls",
        smtp_ca_file=str(ca),
        smtp_timeout=5.0,
    )
    yield controller, inbox, smtp_settings
    if getattr(controller, "_thread", None) is not None:
        controller.stop()


def test_templates_exist_in_english_and_german_and_escape_html() -> None:
    subject_en, text_en, _ = render("password_reset", "en", CTX)
    subject_de, text_de, html_de = render("password_reset", "de", CTX)
    assert "Reset" in subject_en and "zurücksetzen" in subject_de
    assert CTX["link"] in text_en and CTX["link"] in text_de and CTX["link"] in html_de
    _, _, html = render(
        "account_setup", "fr", CTX | {"display_name": "<script>x</script>", "ttl_days": 7}
    )
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    assert (
        "Set up" in render("account_setup", "fr", CTX | {"ttl_days": 7})[0]
    )  # unknown language: English


async def test_outbox_writes_a_multipart_eml(settings) -> None:
    queue = MailQueue(make_backend(settings), keyring_for(settings))
    msg_id = await queue.enqueue("mia@acme.example", "password_reset", "en", CTX)
    assert await queue.deliver_due() == 1
    raw = (Path(settings.data_dir) / "outbox" / f"{msg_id}.eml").read_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["To"] == "mia@acme.example"
    assert {p.get_content_type() for p in parsed.walk()} >= {"text/plain", "text/html"}
    row = await MailMessage.select().where(MailMessage.id == msg_id).first()
    assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] is not None


async def test_smtp_with_starttls_delivers(smtp) -> None:
    controller, inbox, smtp_settings = smtp
    controller.start()
    queue = MailQueue(make_backend(smtp_settings), keyring_for(smtp_settings))
    await queue.enqueue("mia@acme.example", "password_reset", "de", CTX)
    assert await queue.deliver_due() == 1
    assert len(inbox.messages) == 1
    assert "zurücksetzen" in inbox.messages[0]["Subject"]


async def test_a_failed_send_is_kept_and_retried_not_lost(smtp) -> None:
    controller, inbox, smtp_settings = smtp
    queue = MailQueue(make_backend(smtp_settings), keyring_for(smtp_settings))
    msg_id = await queue.enqueue("mia@acme.example", "password_reset", "en", CTX)
    assert await queue.deliver_due() == 0  # nobody listening yet
    row = await MailMessage.select().where(MailMessage.id == msg_id).first()
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"]
    assert await queue.deliver_due() == 0  # not due again before the backoff
    controller.start()
    clock.travel(31)
    assert await queue.deliver_due() == 1
    assert len(inbox.messages) == 1
    row = await MailMessage.select().where(MailMessage.id == msg_id).first()
    assert row["status"] == "sent" and row["attempts"] == 2


async def test_an_outage_longer_than_a_night_delays_mail_without_losing_it(smtp) -> None:
    controller, inbox, smtp_settings = smtp
    # Retried for 72 hours.
    queue = MailQueue(make_backend(smtp_settings), keyring_for(smtp_settings))
    msg_id = await queue.enqueue("mia@acme.example", "account_setup", "en", CTX | {"ttl_days": 7})
    for _ in range(30):  # 29 hours of a server that does not answer
        await queue.deliver_due()
        clock.travel(3600)
    row = await MailMessage.select().where(MailMessage.id == msg_id).first()
    assert row["status"] == "pending" and row["attempts"] == 30
    controller.start()
    assert await queue.deliver_due() == 1 and len(inbox.messages) == 1


async def test_after_the_retry_window_the_mail_is_marked_failed_but_kept(smtp) -> None:
    _, _, smtp_settings = smtp
    queue = MailQueue(make_backend(smtp_settings), keyring_for(smtp_settings), retry_hours=2)
    msg_id = await queue.enqueue("mia@acme.example", "password_reset", "en", CTX)
    await queue.deliver_due()
    clock.travel(3600)
    await queue.deliver_due()
    row = await MailMessage.select().where(MailMessage.id == msg_id).first()
    assert row["status"] == "pending" and row["attempts"] == 2  # an hour in: still trying
    clock.travel(2 * 3600)
    await queue.deliver_due()
    row = await MailMessage.select().where(MailMessage.id == msg_id).first()
    assert row["status"] == "failed" and row["attempts"] == 3
    # Still there, sealed, for an operator to resend.
    assert row["sealed_body"] and "#token=" not in row["sealed_body"] + row["text_body"]


async def test_a_mailbox_the_server_refuses_for_good_fails_at_once(smtp) -> None:
    controller, inbox, smtp_settings = smtp
    controller.start()
    queue = MailQueue(make_backend(smtp_settings), keyring_for(smtp_settings))
    gone = await queue.enqueue("gone@acme.example", "password_reset", "en", CTX)
    full = await queue.enqueue("full@acme.example", "password_reset", "en", CTX)
    mia = await queue.enqueue("mia@acme.example", "password_reset", "en", CTX)
    assert await queue.deliver_due() == 1
    rows = {r["id"]: r for r in await MailMessage.select()}
    assert rows[gone]["status"] == "failed" and "550" in rows[gone]["last_error"]
    assert rows[full]["status"] == "pending"  # 4xx: the server asks us to come back
    assert rows[mia]["status"] == "sent" and len(inbox.messages) == 1
    clock.travel(3600)
    assert await queue.deliver_due() == 0  # the refused one is not tried again
    row = await MailMessage.select().where(MailMessage.id == gone).first()
    assert row["attempts"] == 1


async def test_the_worker_delivers_queued_mail_in_the_background(settings, world: World) -> None:
    outbox = Path(settings.data_dir) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    async with app_client(settings, mail_worker=True, mail_poll_seconds=0.05) as c:
        r = await c.post(
            "/api/v1/auth/password-reset", json={"org": "acme", "login": "member@acme.example"}
        )
        assert r.status_code == 202
        for _ in range(100):
            if set(outbox.glob("*.eml")) - before:
                break
            await asyncio.sleep(0.05)
    new = set(outbox.glob("*.eml")) - before
    assert len(new) == 1
    assert "reset-password#token=" in new.pop().read_text()


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def test_ses_backend_sends_through_boto3(settings, moto_server, monkeypatch) -> None:
    import json
    import urllib.request

    import boto3

    # moto accepts any credentials; boto3 still insists on having some.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ses_settings = msgspec.structs.replace(
        settings,
        mail_backend="ses",
        ses_endpoint_url=moto_server,
        ses_region="eu-central-1",
        mail_from="no-reply@staffroom.example",
    )
    queue = MailQueue(make_backend(ses_settings), keyring_for(ses_settings))
    msg_id = await queue.enqueue("mia@acme.example", "password_reset", "en", CTX)
    # SES refuses unverified senders: the mail stays queued for a retry, not lost.
    assert await queue.deliver_due() == 0
    row = await MailMessage.select().where(MailMessage.id == msg_id).first()
    assert row["status"] == "pending" and "MessageRejected" in row["last_error"]
    boto3.client("ses", region_name="eu-central-1", endpoint_url=moto_server).verify_email_identity(
        EmailAddress="no-reply@staffroom.example"
    )
    clock.travel(31)
    assert await queue.deliver_due() == 1
    with urllib.request.urlopen(f"{moto_server}/moto-api/data.json") as resp:  # noqa: S310
        data = json.load(resp)
    sent = data["ses"]["RawMessage"]
    assert len(sent) == 1 and sent[0]["destinations"] == ["mia@acme.example"]
    assert "Reset your Acme password" in sent[0]["raw_data"]
