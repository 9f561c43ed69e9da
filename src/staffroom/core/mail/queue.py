"""The mail queue: messages are stored before sending, so a failed send is retried, not lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from staffroom.core import clock
from staffroom.core.crypto import DecryptionFailed, KeyRing
from staffroom.core.db.sql import bulk_insert
from staffroom.core.logs import round_failed
from staffroom.core.mail.backends import Email, MailBackend, MailRejected
from staffroom.core.mail.templates import render
from staffroom.core.tables import MailMessage

log = logging.getLogger("staffroom.mail")

# A claimed message that was not finished within this lease is picked up again
# (the worker that claimed it died).
LEASE = timedelta(minutes=2)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s doubling, at most an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def body_aad(msg_id: uuid.UUID) -> bytes:
    """Binds a sealed body to its message: a body copied onto another row does not open."""
    return f"mail-body:{msg_id}".encode()


def seal_body(keys: KeyRing, msg_id: uuid.UUID, text: str, html: str) -> str:
    """The message's bodies sealed with the data key (they carry live links)."""
    return keys.encrypt(msgspec.json.encode({"text": text, "html": html}), body_aad(msg_id))


def open_body(keys: KeyRing, row: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of a queued message; rows queued before sealing hold them in the clear."""
    if not row["sealed_body"]:
        return row["text_body"], row["html_body"]
    body = msgspec.json.decode(keys.decrypt(row["sealed_body"], body_aad(row["id"])))
    return body["text"], body["html"]


def _render_row(
    keys: KeyRing,
    to: str,
    template: str,
    lang: str,
    context: dict[str, Any],
    org_id: uuid.UUID | None,
) -> MailMessage:
    subject, text, html = render(template, lang, context)
    now = clock.utcnow()
    msg_id = uuid.uuid4()
    return MailMessage(
        id=msg_id,
        org=org_id,
        to_address=to,
        subject=subject,
        text_body="",
        html_body="",
        sealed_body=seal_body(keys, msg_id, text, html),
        template=template,
        status="pending",
        next_attempt_at=now,
        created_at=now,
    )


class MailQueue:
    """Renders, stores and delivers email through one backend."""

    def __init__(self, backend: MailBackend, keys: KeyRing, retry_hours: float = 72) -> None:
        self.backend = backend
        self.keys = keys
        self.retry_for = timedelta(hours=retry_hours)
        self._wake = asyncio.Event()

    async def enqueue(
        self,
        to: str,
        template: str,
        lang: str,
        context: dict[str, Any],
        org_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Render and store a message for delivery; returns its id."""
        row = _render_row(self.keys, to, template, lang, context, org_id)
        await MailMessage.insert(row)
        self._wake.set()
        return row.id

    async def enqueue_many(
        self, messages: list[tuple[str, str, str, dict[str, Any]]], org_id: uuid.UUID | None
    ) -> int:
        """Render and store many (to, template, lang, context) messages in bulk inserts."""
        # Thousands of renders (an import) would hold the event loop for seconds.
        rows = await asyncio.to_thread(
            lambda: [
                _render_row(self.keys, to, t, lang, ctx, org_id) for to, t, lang, ctx in messages
            ]
        )
        for start in range(0, len(rows), 500):
            await bulk_insert(MailMessage, rows[start : start + 500])
        if rows:
            self._wake.set()
        return len(rows)

    async def deliver_due(self, limit: int = 50) -> int:
        """Try every message that is due; returns how many were sent."""
        now = clock.utcnow()
        due = (
            await MailMessage.select(MailMessage.id)
            .where(MailMessage.status.is_in(["pending", "sending"]))
            .where(MailMessage.next_attempt_at <= now)
            .order_by(MailMessage.next_attempt_at)
            .limit(limit)
        )
        sent = 0
        for row in due:
            sent += await self._deliver_one(row["id"])
        return sent

    async def _deliver_one(self, msg_id: uuid.UUID) -> int:
        now = clock.utcnow()
        claimed = (
            await MailMessage.update(
                {MailMessage.status: "sending", MailMessage.next_attempt_at: now + LEASE}
            )
            .where(
                (MailMessage.id == msg_id)
                & MailMessage.status.is_in(["pending", "sending"])
                & (MailMessage.next_attempt_at <= now)
            )
            .returning(*MailMessage.all_columns())
        )
        if not claimed:
            return 0
        row = claimed[0]
        try:
            text, html = open_body(self.keys, row)
            email = Email(
                id=row["id"], to=row["to_address"], subject=row["subject"], text=text, html=html
            )
            await self.backend.send(email)
        except Exception as exc:  # noqa: BLE001 (SMTP, SES, a folder: any failure is an attempt)
            # Refused for good (or sealed under a key no longer in the key file): failed
            # now. Anything else (a server down, a temporary refusal, settings to fix) is
            # retried for retry_hours from its queueing, so an outage of a night or a
            # weekend delays mail rather than losing it. The body stays sealed meanwhile.
            attempts = row["attempts"] + 1
            given_up = clock.utcnow() - row["created_at"] > self.retry_for
            final = isinstance(exc, MailRejected | DecryptionFailed)
            status = "failed" if final or given_up else "pending"
            log.warning(
                "mail delivery failed",
                extra={
                    "mail_id": str(msg_id),
                    "attempts": attempts,
                    "error": type(exc).__name__,
                    "status": status,
                },
            )
            await MailMessage.update(
                {
                    MailMessage.status: status,
                    MailMessage.attempts: attempts,
                    MailMessage.next_attempt_at: clock.utcnow() + backoff(attempts),
                    MailMessage.last_error: f"{type(exc).__name__}: {exc}"[:500],
                }
            ).where(MailMessage.id == msg_id)
            return 0
        # Delivered: the links inside must not outlive it here (SECURITY.md rule 1). The
        # subject, address and template stay for the operator.
        await MailMessage.update(
            {
                MailMessage.status: "sent",
                MailMessage.attempts: row["attempts"] + 1,
                MailMessage.sent_at: clock.utcnow(),
                MailMessage.sealed_body: "",
                MailMessage.text_body: "",
                MailMessage.html_body: "",
            }
        ).where(MailMessage.id == msg_id)
        return 1

    async def run(self, poll_seconds: float) -> None:
        """Deliver forever: woken by enqueue, and every poll_seconds for retries."""
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
            except Exception as exc:  # noqa: BLE001 (the loop outlives a failed pass: logged, retried)
                round_failed(log, "mail worker pass failed", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)


async def org_backlog(
    org_id: uuid.UUID, failed_since: datetime, waiting_before: datetime
) -> tuple[int, int, datetime | None]:
    """An org's mail in trouble: (failed since then, still waiting though queued before
    then, the oldest of those queued time), for the console's home."""
    failed = await MailMessage.count().where(
        (MailMessage.org == org_id)
        & (MailMessage.status == "failed")
        & (MailMessage.created_at >= failed_since)
    )
    late = (MailMessage.org == org_id) & MailMessage.status.is_in(["pending", "sending"])
    late &= MailMessage.created_at < waiting_before
    waiting = await MailMessage.count().where(late)
    oldest = (
        await MailMessage.select(MailMessage.created_at)
        .where(late)
        .order_by(MailMessage.created_at)
        .first()
    )
    return int(failed), int(waiting), oldest["created_at"] if oldest else None
