"""GDPR access: everything about the caller as a ZIP of JSON files, their media and a
README explaining them (Art. 15 and 20)."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

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


async def build(rt: Runtime, principal: Principal, ctx: RequestContext) -> bytes:
    """The ZIP of the caller's data (limited per person; the export is audited)."""
    await rt.limiter.hit(f"gdpr-export:{principal.user_id}", EXPORT_RULE)
    files = await collect(rt, principal)
    media = []
    for row in files["media.json"]:
        if row["status"] == "ready":
            media.append(
                (f"media/{row['id']}-{_safe(row['filename'])}", await rt.blobs.read(row["key"]))
            )
    who = files["profile.json"][0]["display_name"] if files["profile.json"] else ""
    readme = README.format(when=clock.utcnow().isoformat(timespec="seconds"), who=who)

    def _zip() -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", readme)
            for name, rows in files.items():
                archive.writestr(name, _json(rows))
            for name, data in media:
                archive.writestr(name, data)
        return out.getvalue()

    data = await asyncio.to_thread(_zip)
    await audit.by(
        principal, ctx, "gdpr.exported", ("user", principal.user_id), {"bytes": len(data)}
    )
    return data


def _safe(name: str) -> str:
    # File names never become paths, in the archive either: the last part, plain characters.
    last = PurePosixPath(name.replace("\\", "/")).name
    kept = "".join(c if c.isalnum() or c in "._-" else "_" for c in last)[:100]
    return kept.lstrip(".") or "file"
