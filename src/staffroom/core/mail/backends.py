"""Mail delivery backends: the outbox folder (embedded), SMTP (aiosmtplib) and Amazon SES."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib

from staffroom.settings import Settings

log = logging.getLogger("staffroom.mail")


@dataclass(frozen=True)
class Email:
    """One rendered message."""

    id: uuid.UUID
    to: str
    subject: str
    text: str
    html: str

    def to_message(self, sender: str) -> EmailMessage:
        """The MIME message: plain text with an HTML alternative."""
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = self.to
        msg["Subject"] = self.subject
        msg["Message-ID"] = make_msgid(idstring=self.id.hex)
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        return msg


class MailRejected(Exception):
    """The mail service refused this message for good (an unknown mailbox, content it
    will not take): retrying cannot deliver it. Anything else a backend raises (a server
    down, a temporary refusal, wrong credentials) is worth retrying."""


class MailBackend(Protocol):
    """Sends one message or raises."""

    async def send(self, email: Email) -> None:
        """Deliver the message; MailRejected when it never can be, else raise to retry."""


class OutboxBackend:
    """Writes each message as an .eml file under the outbox folder."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    async def send(self, email: Email) -> None:
        await asyncio.to_thread(self._write, email)

    def _write(self, email: Email) -> None:
        # The messages hold live links (invitations, resets): the folder and its files are
        # the owner's only, whatever the umask (SECURITY.md rule 1).
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        path = self.folder / f"{email.id}.eml"
        # Written aside and renamed: whoever watches the folder never reads half a message.
        partial = self.folder / f".{email.id}.eml.part"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)  # a part left by a crash may have other modes
            out.write(bytes(email.to_message(self.sender)))
        partial.replace(path)
        # The path, never the link inside: links carry secrets that must not reach logs.
        log.info("mail written to outbox", extra={"path": str(path), "subject": email.subject})


class SmtpBackend:
    """Sends through an SMTP relay with STARTTLS, implicit TLS or (tests only) plain."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.settings.smtp_ca_file or None)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    async def send(self, email: Email) -> None:
        s = self.settings
        security = s.smtp_security
        try:
            await aiosmtplib.send(
                email.to_message(s.mail_from),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                use_tls=security == "tls",
                start_tls=True if security == "starttls" else False,
                tls_context=self._tls_context() if security != "none" else None,
                timeout=s.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # One recipient a message: a 5xx for it is final, a 4xx is "try later".
            if all(r.code >= 500 for r in exc.recipients):
                codes = ", ".join(str(r.code) for r in exc.recipients)
                raise MailRejected(f"recipient refused ({codes})") from exc
            raise
        except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
            # The sender's or our credentials' refusals are settings to fix: retried.
            if exc.code >= 500:
                raise MailRejected(f"refused ({exc.code})") from exc
            raise


class SesBackend:
    """Sends through Amazon SES (SendRawEmail) with boto3, in a thread: boto3 blocks."""

    def __init__(self, settings: Settings) -> None:
        import boto3

        self.sender = settings.mail_from
        self.client = boto3.client(
            "ses",
            region_name=settings.ses_region,
            endpoint_url=settings.ses_endpoint_url or None,
        )

    async def send(self, email: Email) -> None:
        raw = bytes(email.to_message(self.sender))
        # Recipients come from the To header we built: the one stored address. SES takes
        # mail for an unknown mailbox and bounces it later; what it refuses at once
        # (MessageRejected) is mostly its own settings, an unverified sender: retried.
        await asyncio.to_thread(self.client.send_raw_email, RawMessage={"Data": raw})


def make_backend(settings: Settings) -> MailBackend:
    """The backend named by settings."""
    if settings.mail_backend == "smtp":
        return SmtpBackend(settings)
    if settings.mail_backend == "ses":
        return SesBackend(settings)
    return OutboxBackend(settings.data_path / "outbox", settings.mail_from)
