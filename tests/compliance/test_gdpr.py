"""T15: the export holds the subject's data only; erasure removes personal data, revokes
everything, keeps others' conversations readable; the ledger erases again after a restore."""

from __future__ import annotations

import io
import json
import os
import tempfile
import tracemalloc
import uuid
import zipfile

from staffroom.accounts.tables import User
from staffroom.chat.tables import Message
from staffroom.compliance.service import erasure, export, ledger
from staffroom.core import clock, personal_data
from staffroom.core.context import Principal, RequestContext
from staffroom.core.tables import AuditEvent
from staffroom.feeds.tables import Media, Reaction
from tests.chat.helpers import group, say
from tests.support.world import PASSWORD, World, assert_problem, bearer, login


async def _media(rt, world: World, who: str, data: bytes) -> uuid.UUID:
    media_id = uuid.uuid4()
    key = f"{world.acme.id}/{media_id}"
    await rt.blobs.write(key, data)
    await Media.insert(
        Media(
            id=media_id,
            org=world.acme.id,
            uploader=world.acme[who].id,
            key=key,
            filename="../../etc/passwd.png",
            content_type="image/png",
            size=len(data),
            status="ready",
            created_at=clock.utcnow(),
        )
    )
    return media_id


async def _activity(client, world: World, rt) -> dict:
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    editor = await bearer(client, world.acme, "editor")
    conv = await group(client, world, admin, "member", "editor")
    await say(client, member, conv["id"], "member says the gate code is 1234", "m1")
    await say(client, editor, conv["id"], "editor private note", "e1")
    channel = (await client.post("/api/v1/channels", json={"name": "News"}, headers=admin)).json()
    post = (
        await client.post(
            f"/api/v1/channels/{channel['id']}/posts",
            json={"title": "Canteen", "body": "Menu"},
            headers=editor,
        )
    ).json()
    await client.post(f"/api/v1/posts/{post['id']}/comments", json={"body": "yum"}, headers=member)
    await client.post(f"/api/v1/posts/{post['id']}/reactions", json={"emoji": "👍"}, headers=member)
    await client.post(f"/api/v1/posts/{post['id']}/read", headers=member)
    return {"conv": conv, "post": post, "member": member, "editor": editor, "admin": admin}


async def test_the_export_holds_the_subjects_data_only(client, world: World, rt):
    acts = await _activity(client, world, rt)
    mine = await _media(rt, world, "member", b"\x89PNG member photo")
    await _media(rt, world, "editor", b"\x89PNG editor photo")
    r = await client.get("/api/v1/me/export", headers=acts["member"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(archive.namelist())
    assert {"README.txt", "profile.json", "messages.json", "comments.json", "media.json"} <= names
    messages = json.loads(archive.read("messages.json"))
    assert [m["body"] for m in messages] == ["member says the gate code is 1234"]
    assert json.loads(archive.read("profile.json"))[0]["email"] == "member@acme.example"
    assert [c["body"] for c in json.loads(archive.read("comments.json"))] == ["yum"]
    assert len(json.loads(archive.read("reactions.json"))) == 1
    media_files = [n for n in names if n.startswith("media/")]
    assert media_files == [f"media/{mine}-passwd.png"]
    assert archive.read(media_files[0]) == b"\x89PNG member photo"
    everything = b"".join(archive.read(n) for n in names)
    assert b"editor private note" not in everything and b"editor photo" not in everything
    assert b"password_hash" not in everything and b"access_hash" not in everything
    assert str(world.globex.id).encode() not in everything
    exported = await AuditEvent.select().where(AuditEvent.action == "gdpr.exported")
    assert len(exported) == 1 and exported[0]["actor_id"] == world.acme["member"].id


async def test_an_export_is_read_and_written_a_batch_at_a_time(
    client, world: World, rt, monkeypatch
):
    monkeypatch.setattr(personal_data, "BATCH", 2)  # a person's years of reads and messages
    admin = await bearer(client, world.acme, "admin")
    member = await bearer(client, world.acme, "member")
    conv = await group(client, world, admin, "member")
    said = [f"message {n} ✓" for n in range(5)]
    for n, text in enumerate(said):
        await say(client, member, conv["id"], text, f"b{n}")
    r = await client.get("/api/v1/me/export", headers=member)
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    messages = json.loads(archive.read("messages.json"))
    assert sorted(m["body"] for m in messages) == said  # all five, whole, once each
    assert len({m["id"] for m in messages}) == 5
    assert json.loads(archive.read("posts.json")) == []  # an empty file is an empty list
    assert [p["email"] for p in json.loads(archive.read("profile.json"))] == ["member@acme.example"]


async def test_an_export_of_many_uploads_goes_file_to_file(client, world: World, rt):
    """A person's uploads can outgrow memory: the ZIP is built on disk and read out a chunk
    at a time (the HTTP route streams the same chunks)."""
    mib = 1024 * 1024
    pictures = [os.urandom(6 * mib) for _ in range(3)]
    for picture in pictures:
        await _media(rt, world, "member", picture)
    me = Principal(
        org_id=world.acme.id,
        user_id=world.acme["member"].id,
        role="member",
        permissions=frozenset(),
    )
    tracemalloc.start()
    try:
        done = await export.build(rt, me, RequestContext())
        received = 0
        with tempfile.TemporaryFile() as copy:
            async for chunk in done.chunks():
                received += len(chunk)
                copy.write(chunk)
            _, peak = tracemalloc.get_traced_memory()
            copy.seek(0)
            archive = zipfile.ZipFile(copy)
            media = sorted(archive.read(n) for n in archive.namelist() if n.startswith("media/"))
    finally:
        tracemalloc.stop()
    assert received == done.size > 18 * mib and done.file.closed
    assert media == sorted(pictures)
    assert peak < 4 * mib, peak  # a chunk or two, never a picture, never the archive
    r = await client.get("/api/v1/me/export", headers=await bearer(client, world.acme, "member"))
    assert r.status_code == 200 and int(r.headers["content-length"]) == len(r.content)
    # 14 JSON files, the README and the 3 pictures.
    assert len(zipfile.ZipFile(io.BytesIO(r.content)).namelist()) == 18


async def test_a_file_lost_from_storage_leaves_the_rest_of_the_export_whole(
    client, world: World, rt
):
    kept = await _media(rt, world, "member", b"\x89PNG kept")
    lost = await _media(rt, world, "member", b"\x89PNG lost")
    row = await Media.select(Media.key).where(Media.id == lost).first()
    rt.blobs.path(row["key"]).unlink()
    r = await client.get("/api/v1/me/export", headers=await bearer(client, world.acme, "member"))
    assert r.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert [n for n in archive.namelist() if n.startswith("media/")] == [f"media/{kept}-passwd.png"]
    assert len(json.loads(archive.read("media.json"))) == 2  # both still listed
    assert (
        "1 of the files listed in media.json could not be found"
        in archive.read("README.txt").decode()
    )


async def test_exports_are_limited_per_person(client, world: World):
    member = await bearer(client, world.acme, "member")
    for _ in range(5):
        assert (await client.get("/api/v1/me/export", headers=member)).status_code == 200
    r = await client.get("/api/v1/me/export", headers=member)
    assert_problem(r, 429) and r.headers["retry-after"]
    other = await bearer(client, world.acme, "editor")
    assert (await client.get("/api/v1/me/export", headers=other)).status_code == 200


async def test_erasure_removes_personal_data_and_keeps_conversations_readable(
    client, world: World, rt
):
    acts = await _activity(client, world, rt)
    photo = await _media(rt, world, "member", b"\x89PNG member photo")
    owner = await bearer(client, world.acme, "owner")
    member_id = world.acme["member"].id
    url = f"/api/v1/users/{member_id}/erase"
    # Erasure is for compliance.manage holders (owners), with a reason.
    assert_problem(await client.post(url, json={"reason": "left"}, headers=acts["admin"]), 403)
    assert_problem(await client.post(url, json={}, headers=owner), 400)
    assert_problem(await client.post(url, json={"reason": "x"}, headers=owner), 400)
    r = await client.post(url, json={"reason": "Art. 17 request of 2026-11-20"}, headers=owner)
    assert r.status_code == 204, r.text
    assert_problem(await client.post(url, json={"reason": "again"}, headers=owner), 409)
    # Every credential is gone.
    assert_problem(await client.get("/api/v1/me", headers=acts["member"]), 401)
    r = await client.post(
        "/api/v1/auth/login",
        json={"org": "acme", "login": "member@acme.example", "password": PASSWORD},
    )
    assert_problem(r, 401)
    user = await User.select().where(User.id == member_id).first()
    assert user["status"] == "erased" and user["display_name"] == "Deleted user"
    assert user["email"] is None and user["password_hash"] is None
    assert await Reaction.count().where(Reaction.user == member_id) == 0
    assert await Media.count().where(Media.id == photo) == 0
    assert await rt.blobs.stat(f"{world.acme.id}/{photo}") is None
    # Others still read the conversation; the author shows as a deleted user.
    history = (
        await client.get(
            f"/api/v1/conversations/{acts['conv']['id']}/messages", headers=acts["editor"]
        )
    ).json()
    senders = {m["body"]: m["sender_name"] for m in history["items"]}
    assert senders["member says the gate code is 1234"] == "Deleted user"
    assert await Message.count() == 2
    event = await (
        AuditEvent.select().where(AuditEvent.action == "user.erased").output(load_json=True).first()
    )
    assert event["details"] == {"reason": "Art. 17 request of 2026-11-20"}
    r = await client.post(f"/api/v1/users/{member_id}/reactivate", headers=owner)
    assert_problem(r, 409, "user_erased")
    assert (world.acme.id, member_id) in await ledger.entries(rt)


async def test_an_erased_person_stays_erased_when_an_old_copy_comes_back(client, world: World, rt):
    owner = await bearer(client, world.acme, "owner")
    member_id = world.acme["member"].id
    r = await client.post(
        f"/api/v1/users/{member_id}/erase", json={"reason": "left the company"}, headers=owner
    )
    assert r.status_code == 204
    # As if a backup from before the erasure were restored: the row is back.
    await User.update(
        {User.status: "active", User.display_name: "Member", User.email: "member@acme.example"}
    ).where(User.id == member_id)
    assert await erasure.reapply(rt) == 1
    user = await User.select().where(User.id == member_id).first()
    assert user["status"] == "erased" and user["email"] is None
    assert await erasure.reapply(rt) == 0


async def test_nobody_erases_themselves_or_another_orgs_people(client, world: World):
    owner = await bearer(client, world.acme, "owner")
    r = await client.post(
        f"/api/v1/users/{world.acme['owner'].id}/erase",
        json={"reason": "testing myself"},
        headers=owner,
    )
    assert_problem(r, 403, "erase_self")
    r = await client.post(
        f"/api/v1/users/{world.globex['member'].id}/erase", json={"reason": "x-org"}, headers=owner
    )
    assert_problem(r, 404)
    assert (await login(client, "globex", "member@globex.example"))["access_token"]
