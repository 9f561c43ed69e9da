"""GDPR access: everything about the caller as a ZIP of JSON files, their media and a
README explaining them (Art. 15 and 20)."""

from __future__ import annotations

import asyncio
import json
import tempfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from staffroom.accounts.tables import AuthSession, GroupMember, User
from staffroom.chat.service import render
from staffroom.chat.tables import Member, Message
from staffroom.core import audit, clock
from staffroom.core.context import Principal, RequestContext
from staffroom.core.ratelimit import Rule
from staffroom.core.runtime import Runtime
from staffroom.core.tables import AuditEvent
from staffroom.feeds.tables import Acknowledgement, Comment, Media, Post, PostRead, Reaction

# Building an export is heavy: a few a day is plenty for a person.
EXPORT_RULE = Rule(5, 24 * 3600)
CHUNK = 1024 * 1024  # read out a MiB at a time
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

Passwords, second factors and tokens are stored only as one-way digests or sealed
secrets and are never exported. Ask your administrator about corrections or erasure.
"""


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in _PRIVATE} for r in rows]


def _json(rows: Any) -> bytes:
    def default(value: Any) -> str:
        return value.isoformat() if isinstance(value, datetime) else str(value)

    return json.dumps(rows, indent=2, default=default, ensure_ascii=False).encode()


async def collect(rt: Runtime, principal: Principal) -> dict[str, Any]:
    """The subject's rows, per file (their own org only)."""
    me, org = principal.user_id, principal.org_id
    profile = await User.select().where((User.id == me) & (User.org == org))
    messages = await Message.select().where((Message.sender == me) & (Message.org == org))
    opened = await render.messages_out(rt, messages)
    about_me = (AuditEvent.actor_id == me) | (AuditEvent.target_id == str(me))
    return {
        "profile.json": _clean(profile),
        "groups.json": await GroupMember.select().where(GroupMember.user == me),
        "sessions.json": _clean(await AuthSession.select().where(AuthSession.user == me)),
        "posts.json": await Post.select().where((Post.author == me) & (Post.org == org)),
        "comments.json": await Comment.select().where(
            (Comment.author == me) & (Comment.org == org)
        ),
        "reactions.json": await Reaction.select().where(Reaction.user == me),
        "reads.json": await PostRead.select().where(PostRead.user == me),
        "acknowledgements.json": await Acknowledgement.select().where(Acknowledgement.user == me),
        "conversations.json": await Member.select().where(Member.user == me),
        "messages.json": [render.as_json(m) for m in opened],
        "audit_events.json": await AuditEvent.select()
        .where((AuditEvent.org == org) & about_me)
        .output(load_json=True),
        "media.json": await Media.select().where((Media.uploader == me) & (Media.org == org)),
    }


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
    await rt.limiter.hit(f"gdpr-export:{principal.user_id}", EXPORT_RULE)
    files = await collect(rt, principal)
    who = files["profile.json"][0]["display_name"] if files["profile.json"] else ""
    readme = README.format(when=clock.utcnow().isoformat(timespec="seconds"), who=who)
    out = tempfile.TemporaryFile(prefix="staffroom-export-")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="staffroom-export-") as tmp,
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        ):

            def _rows() -> None:
                archive.writestr("README.txt", readme)
                for name, rows in files.items():
                    archive.writestr(name, _json(rows))

            await asyncio.to_thread(_rows)
            member = Path(tmp) / "media.bin"
            for row in files["media.json"]:
                if row["status"] == "ready":
                    await rt.blobs.media_to_file(row["key"], member)
                    # Pictures and videos are compressed already: stored as they are.
                    name = f"media/{row['id']}-{_safe(row['filename'])}"
                    await asyncio.to_thread(archive.write, member, name, zipfile.ZIP_STORED)
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
