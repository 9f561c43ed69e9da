"""The mail queue: messages are stored before sending, so a failed send is retried, not lost.

A queue of the job engine (`core/jobs`): each message is a job of `MAIL_JOBS`, claimed
for a try with a 2-minute lease, retried 30 s doubling to an hour after a failure, for
`STAFFROOM_MAIL_RETRY_HOURS` from its queueing; a permanent refusal fails it at once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from staffroom.core import clock
from staffroom.core.crypto import DecryptionFailed, KeyRing
from staffroom.core.db.sql import as_uuid, bulk_insert
from staffroom.core.jobs import NOW, Backoff, JobQueue, JobTable, Outcome, Policy
from staffroom.core.mail.backends import Email, MailBackend, MailRejected
from staffroom.core.mail.templates import render
from staffroom.core.tables import MailMessage

log = logging.getLogger("staffroom.mail")

# A claimed message that was not finished within this lease is picked up again
# (the worker that claimed it died).
LEASE = timedelta(minutes=2)
# Wait before the next try: 30 s doubling, at most an hour.
BACKOFF = Backoff(first=30, cap=3600)

MAIL_JOBS = JobTable(
    name="mail",
    table=MailMessage,
    # "sending": claimed by a version before the job engine; its lease ends like any.
    open="status IN ('pending', 'sending')",
    given_up="status = 'failed'",
    # Delivered: the links inside must not outlive it here (SECURITY.md rule 1). The
    # subject, address and template stay for the operator.
    done={"status": "sent", "sent_at": NOW, "sealed_body": "", "text_body": "", "html_body": ""},
    # Failed, kept (sealed) for an operator to look into or requeue.
    give_up={"status": "failed"},
    reopen={"status": "pending"},
    retry={"status": "pending"},
    done_at="sent_at",
    error_length=500,
)


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
        # Refused for good (or sealed under a key no longer in the key file): failed at
        # once. Anything else (a server down, a temporary refusal, settings to fix) is
        # retried for retry_hours from its queueing, so an outage of a night or a
        # weekend delays mail rather than losing it. The body stays sealed meanwhile.
        self.jobs = JobQueue(
            MAIL_JOBS,
            Policy(
                backoff=BACKOFF,
                lease=LEASE,
                max_age=timedelta(hours=retry_hours),
                final=(MailRejected, DecryptionFailed),
            ),
        )
        # Set when this process queued mail: its worker need not wait to poll.
        self.wakeup = asyncio.Event()

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
        self.wakeup.set()
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
            self.wakeup.set()
        return len(rows)

    async def deliver_due(self, limit: int = 50) -> int:
        """Try every message that is due; returns how many were sent."""
        sent = 0
        for msg_id in await MAIL_JOBS.due(limit):
            sent += await self._deliver_one(msg_id)
        return sent

    async def _deliver_one(self, msg_id: uuid.UUID) -> int:
        row = await self.jobs.claim(msg_id)
        if row is None:
            return 0
        try:
            text, html = open_body(self.keys, row)
            email = Email(
                id=as_uuid(row["id"]),
                to=row["to_address"],
                subject=row["subject"],
                text=text,
                html=html,
            )
            await self.backend.send(email)
        except Exception as exc:  # noqa: BLE001 (SMTP, SES, a folder: any failure is a try; the policy retries or fails it)
            outcome = await self.jobs.failed(row, exc)
            log.warning(
                "mail delivery failed",
                extra={
                    "mail_id": str(msg_id),
                    "attempts": row["attempts"],
                    "error": type(exc).__name__,
                    "status": "failed" if outcome is Outcome.GIVEN_UP else "pending",
                },
            )
            return 0
        await self.jobs.done(msg_id)
        return 1


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
