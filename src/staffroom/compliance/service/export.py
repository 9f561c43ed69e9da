"""GDPR access: everything about the caller as a ZIP of JSON files, their media and a
README explaining them (Art. 15 and 20)."""

from __future__ import annotations

import asyncio
import json
import tempfile
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from staffroom.accounts.tables import AuthSession, GroupMember, User
from staffroom.chat.service import render
from staffroom.chat.tables import Member, Message
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.limits import GDPR_EXPORT
from staffroom.core.runtime import Runtime
from staffroom.core.tables import AuditEvent
from staffroom.feeds.tables import Acknowledgement, Comment, Media, Post, PostRead, Reaction
from staffroom.oauth.service import personal as oauth_personal
from staffroom.oauth.tables import OAuthConsent, OAuthGrant

# Building an export is heavy: a few a day is plenty for a person.
CHUNK = 1024 * 1024  # read out a MiB at a time
BATCH = 1000  # rows fetched and written at a time
_PRIVATE = {"password_hash", "access_hash", "secret_hash", "token", "content_digest"}

README = """Your data in Staffroom
======================

Exported {when} for {who}.

profile.json           your account: name, addresses, role, status, dates
groups.json            the groups you belong to
sessions.json          where and when you were signed in (no secrets)
posts.json             news posts you wrote
comments.json          your comments on posts
reactions.json         your emoji reactions
reads.json             posts you opened (first time)
acknowledgements.json  mandatory posts you acknowledged
conversations.json     the chat conversations you are in
messages.json          chat messages you wrote (decrypted for you)
audit_events.json      security events you caused or that concern you
media.json             files you uploaded; the files themselves are in media/
connected_apps.json    apps you allowed to use Staffroom for you, and what they may do
app_grants.json        each time an app was given access for you: when, what it may
                       do, when it last used it, how it ended (never the tokens)

Each file is a JSON list; rows carry their own dates and come in no particular order.
Passwords, second factors and tokens are stored only as one-way digests or sealed
secrets and are never exported. Ask your administrator about corrections or erasure.
"""
MISSING = """
{count} of the files listed in media.json could not be found in storage and are not
included; your administrator can look into it.
"""


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in _PRIVATE} for r in rows]


def _default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


Rows = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


async def _as_is(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows


def _sources(rt: Runtime, principal: Principal) -> dict[str, tuple[Any, Any, Rows]]:
    """Per file: the table, the subject's rows of it (their own org only), and what is
    done to each batch before it is written."""
    me, org = principal.user_id, principal.org_id

    async def cleaned(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return _clean(rows)

    async def opened(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [render.as_json(m) for m in await render.messages_out(rt, rows)]

    return {
        "profile.json": (User, (User.id == me) & (User.org == org), cleaned),
        "groups.json": (GroupMember, GroupMember.user == me, _as_is),
        "sessions.json": (AuthSession, AuthSession.user == me, cleaned),
        "posts.json": (Post, (Post.author == me) & (Post.org == org), _as_is),
        "comments.json": (Comment, (Comment.author == me) & (Comment.org == org), _as_is),
        "reactions.json": (Reaction, Reaction.user == me, _as_is),
        "reads.json": (PostRead, PostRead.user == me, _as_is),
        "acknowledgements.json": (Acknowledgement, Acknowledgement.user == me, _as_is),
        "conversations.json": (Member, Member.user == me, _as_is),
        "messages.json": (Message, (Message.sender == me) & (Message.org == org), opened),
        "audit_events.json": (
            AuditEvent,
            (AuditEvent.org == org)
            & ((AuditEvent.actor_id == me) | (AuditEvent.target_id == str(me))),
            _as_is,
        ),
        "media.json": (Media, (Media.uploader == me) & (Media.org == org), _as_is),
        "connected_apps.json": (
            OAuthConsent,
            (OAuthConsent.user == me) & (OAuthConsent.org == org),
            oauth_personal.consents_out,
        ),
        "app_grants.json": (
            OAuthGrant,
            (OAuthGrant.user == me) & (OAuthGrant.org == org),
            oauth_personal.grants_out,
        ),
    }


async def _batches(table: Any, where: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """The rows in id order, BATCH at a time: a person's reads or messages can run to
    hundreds of thousands of rows over the years."""
    last = None
    while True:
        query = table.select().where(where if last is None else where & (table.id > last))
        rows = await query.order_by(table.id).limit(BATCH).output(load_json=table is AuditEvent)
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        last = rows[-1]["id"]


async def _write_list(
    archive: zipfile.ZipFile,
    name: str,
    table: Any,
    where: Any,
    shape: Rows,
    keep: list[dict[str, Any]] | None,
) -> None:
    """One file of the archive: a JSON list written a batch at a time (the rows also
    added to `keep` when given)."""
    with archive.open(name, "w") as member:
        written = 0
        await asyncio.to_thread(member.write, b"[")
        async for rows in _batches(table, where):
            shaped = await shape(rows)
            if keep is not None:
                keep += shaped
            text = "".join(
                ("," if written + i else "")
                + "\n"
                + json.dumps(row, indent=2, default=_default, ensure_ascii=False)
                for i, row in enumerate(shaped)
            )
            await asyncio.to_thread(member.write, text.encode())
            written += len(shaped)
        await asyncio.to_thread(member.write, b"\n]\n")


@dataclass
class Export:
    """A finished export: a ZIP in an unnamed temporary file (gone from the disk once it
    is closed, however the download ends), read out in chunks."""

    file: BinaryIO
    size: int

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(self.file.read, CHUNK):
                yield chunk
        finally:
            self.file.close()


async def build(rt: Runtime, principal: Principal, ctx: RequestContext) -> Export:
    """The ZIP of the caller's data (limited per person; the export is audited). Built on
    disk, media copied file to file: a person's uploads can outgrow the server's memory."""
    await rt.limiter.hit(*GDPR_EXPORT.at(rt.settings, principal.user_id))
    out = tempfile.TemporaryFile(prefix="staffroom-export-")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="staffroom-export-") as tmp,
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            kept: dict[str, list[dict[str, Any]]] = {"profile.json": [], "media.json": []}
            for name, (table, where, shape) in _sources(rt, principal).items():
                await _write_list(archive, name, table, where, shape, kept.get(name))
            media, missing = Path(tmp) / "media.bin", 0
            for row in (m for m in kept["media.json"] if m["status"] == "ready"):
                if not await rt.blobs.media_to_file(row["key"], media):
                    missing += 1  # lost from storage: the export goes on without it
                    continue
                # Pictures and videos are compressed already: stored as they are.
                name = f"media/{row['id']}-{_safe(row['filename'])}"
                await asyncio.to_thread(archive.write, media, name, zipfile.ZIP_STORED)
            who = kept["profile.json"][0]["display_name"] if kept["profile.json"] else ""
            readme = README.format(when=clock.utcnow().isoformat(timespec="seconds"), who=who)
            if missing:
                readme += MISSING.format(count=missing)
            archive.writestr("README.txt", readme)
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    await audit.by(principal, ctx, "gdpr.exported", ("user", principal.user_id), {"bytes": size})
    return Export(file=out, size=size)


def _safe(name: str) -> str:
    # File names never become paths, in the archive either: the last part, plain characters.
    last = PurePosixPath(name.replace("\\", "/")).name
    kept = "".join(c if c.isalnum() or c in "._-" else "_" for c in last)[:100]
    return kept.lstrip(".") or "file"
