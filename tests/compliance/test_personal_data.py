"""GDPR export and erasure through each domain's own pair (core/personal_data.py):
compliance reads no other domain's tables, the export of a busy person is what it was
when compliance read every table itself, and a new holder joins by registering."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import staffroom
from staffroom.accounts.tables import AuthSession, GroupMember, User
from staffroom.chat.service import render
from staffroom.chat.tables import Member, Message
from staffroom.core import personal_data
from staffroom.core.personal_data import Listing, batches
from staffroom.core.tables import AuditEvent
from staffroom.feeds.tables import Acknowledgement, Comment, Media, Post, PostRead, Reaction
from staffroom.wiring import build_runtime
from tests.chat.helpers import group, say
from tests.compliance.test_gdpr import _media
from tests.support.world import World, bearer

_DOMAINS = ("accounts", "onboarding", "sso", "feeds", "chat", "oauth")
_IMPORT = re.compile(r"^\s*(?:from|import) staffroom\.(\w+)\.tables\b", re.M)


def test_compliance_imports_no_other_domains_tables() -> None:
    """Compliance reaches other domains' data through their services only; its own
    tables.py names accounts' Org for a foreign key (the cascade when an org goes)."""
    root = Path(staffroom.__file__).parent / "compliance"
    offenders = sorted(
        f"{path.relative_to(root)}: {domain}.tables"
        for path in root.rglob("*.py")
        if "piccolo_migrations" not in path.parts and path.name != "tables.py"
        for domain in _IMPORT.findall(path.read_text())
        if domain in _DOMAINS
    )
    assert offenders == []


# What the export held when compliance read every table itself (before the domains'
# export_for): per file, the table, the subject's rows and their shaping. The archive
# must still hold exactly this.
_PRIVATE = {"password_hash", "access_hash", "secret_hash", "token", "content_digest"}
_FILES = (
    "profile.json",
    "groups.json",
    "sessions.json",
    "posts.json",
    "comments.json",
    "reactions.json",
    "reads.json",
    "acknowledgements.json",
    "conversations.json",
    "messages.json",
    "audit_events.json",
    "media.json",
)
_README = """Your data in Staffroom
======================

Exported WHEN for Editor.

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
app_grants.json        each app's access for you: scopes, when, last use, its end (never tokens)

Each file is a JSON list; rows carry their own dates and come in no particular order.
Passwords, second factors and tokens are stored only as one-way digests or sealed
secrets and are never exported. Ask your administrator about corrections or erasure.
"""


async def _as_before(rt: Any, org: uuid.UUID, me: uuid.UUID) -> dict[str, bytes]:
    sources: dict[str, tuple[Any, Any]] = {
        "profile.json": (User, (User.id == me) & (User.org == org)),
        "groups.json": (GroupMember, GroupMember.user == me),
        "sessions.json": (AuthSession, AuthSession.user == me),
        "posts.json": (Post, (Post.author == me) & (Post.org == org)),
        "comments.json": (Comment, (Comment.author == me) & (Comment.org == org)),
        "reactions.json": (Reaction, Reaction.user == me),
        "reads.json": (PostRead, PostRead.user == me),
        "acknowledgements.json": (Acknowledgement, Acknowledgement.user == me),
        "conversations.json": (Member, Member.user == me),
        "messages.json": (Message, (Message.sender == me) & (Message.org == org)),
        "audit_events.json": (
            AuditEvent,
            (AuditEvent.org == org)
            & ((AuditEvent.actor_id == me) | (AuditEvent.target_id == str(me))),
        ),
        "media.json": (Media, (Media.uploader == me) & (Media.org == org)),
    }
    out = {}
    for name, (table, where) in sources.items():
        rows = (
            await table.select()
            .where(where)
            .order_by(table.id)
            .output(load_json=table is AuditEvent)
        )
        if name in ("profile.json", "sessions.json"):
            rows = [{k: v for k, v in r.items() if k not in _PRIVATE} for r in rows]
        if name == "messages.json":
            rows = [render.as_json(m) for m in await render.messages_out(rt, rows)]
        default = lambda v: v.isoformat() if isinstance(v, datetime) else str(v)  # noqa: E731
        text = "[" + ",".join(
            "\n" + json.dumps(r, indent=2, default=default, ensure_ascii=False) for r in rows
        )
        out[name] = (text + "\n]\n").encode()
    return out


async def _busy_editor(client: Any, world: World, rt: Any) -> dict[str, str]:
    """The editor of acme doing a bit of everything, beside others doing the same."""
    owner = await bearer(client, world.acme, "owner")
    editor = await bearer(client, world.acme, "editor")
    member = await bearer(client, world.acme, "member")
    crew = (await client.post("/api/v1/groups", json={"name": "Depot"}, headers=owner)).json()
    ids = [str(world.acme["editor"].id), str(world.acme["member"].id)]
    r = await client.post(
        f"/api/v1/groups/{crew['id']}/members", json={"user_ids": ids}, headers=owner
    )
    assert r.status_code < 300, r.text
    channel = (await client.post("/api/v1/channels", json={"name": "News"}, headers=owner)).json()
    for who in (editor, owner):
        made = await client.post(
            f"/api/v1/channels/{channel['id']}/posts",
            json={"title": "Canteen ✓", "body": "Menu *today*", "requires_ack": True},
            headers=who,
        )
        assert made.status_code == 201, made.text
        pid = made.json()["id"]
        for reader in (editor, member):
            await client.post(f"/api/v1/posts/{pid}/comments", json={"body": "yum"}, headers=reader)
            await client.post(
                f"/api/v1/posts/{pid}/reactions", json={"emoji": "👍"}, headers=reader
            )
            await client.post(f"/api/v1/posts/{pid}/read", headers=reader)
            await client.post(f"/api/v1/posts/{pid}/acknowledge", headers=reader)
    conv = await group(client, world, owner, "editor", "member")
    await say(client, editor, conv["id"], "editor says ümlaut", "e1")
    await say(client, member, conv["id"], "member says hi", "m1")
    await _media(rt, world, "editor", b"\x89PNG editor photo")
    await _media(rt, world, "member", b"\x89PNG member photo")
    return editor


async def test_the_export_of_a_busy_person_is_what_it_was(client, world: World, rt):
    editor = await _busy_editor(client, world, rt)
    expected = await _as_before(rt, world.acme.id, world.acme["editor"].id)
    r = await client.get("/api/v1/me/export", headers=editor)
    assert r.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = archive.namelist()
    media = [n for n in names if n.startswith("media/")]
    # OAuth's two files (tests/compliance/test_gdpr_oauth.py shows what they hold).
    oauth = ["connected_apps.json", "app_grants.json"]
    assert names == [*_FILES, *oauth, *media, "README.txt"] and len(media) == 1
    for name in _FILES:
        assert archive.read(name) == expected[name], name
        assert json.loads(archive.read(name)) or name == "audit_events.json", name
    readme = re.sub(r"Exported \S+ for", "Exported WHEN for", archive.read("README.txt").decode())
    assert readme == _README
    assert archive.read(media[0]) == b"\x89PNG editor photo"


async def test_a_new_holder_joins_the_export_and_erasure_by_registering(client, world: World, rt):
    erased: list[uuid.UUID] = []

    async def export_for(rt: Any, org_id: uuid.UUID, user_id: uuid.UUID) -> list[Listing]:
        where = (User.id == user_id) & (User.org == org_id)
        return [Listing("badges.json", "the badges you earned", batches(User, where))]

    async def erase(rt: Any, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
        erased.append(user_id)

    personal_data.register(rt, "badges", export_for, erase)
    r = await client.get("/api/v1/me/export", headers=await bearer(client, world.acme, "member"))
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert [row["id"] for row in json.loads(archive.read("badges.json"))] == [
        str(world.acme["member"].id)
    ]
    assert "badges.json            the badges you earned\n" in archive.read("README.txt").decode()
    owner = await bearer(client, world.acme, "owner")
    url = f"/api/v1/users/{world.acme['member'].id}/erase"
    assert (await client.post(url, json={"reason": "left us"}, headers=owner)).status_code == 204
    assert erased == [world.acme["member"].id]


async def test_a_runtime_without_the_holders_neither_exports_nor_erases(world: World, rt):
    """A runtime built without the domains' wiring would erase nothing and still record an
    erasure: it is refused instead."""
    from staffroom.compliance.service import erasure
    from staffroom.core.runtime import Runtime

    bare = Runtime.build(rt.settings)
    with pytest.raises(RuntimeError, match="no holders"):
        await erasure.apply(bare, world.acme.id, world.acme["member"].id)
    user = await User.select(User.status).where(User.id == world.acme["member"].id).first()
    assert user["status"] == "active"
    assert [h.name for h in personal_data.holders(build_runtime(rt.settings))] == [
        "accounts",
        "feeds",
        "sso",
        "chat",
        "audit",
        "media",
        "oauth",
    ]
