"""Who may read and write a file, within one org: the media membership matrix.

A file is readable by exactly those who may read what holds it (its uploader until it
is attached) and writable by its uploader only. Every media route (found from the app,
so a new one cannot skip the check) answers 404 to everyone else and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from litestar import Litestar

from staffroom.feeds.tables import Media
from tests.chat.helpers import group, heads
from tests.support.apps import app_client
from tests.support.tenancy import id_routes, org_snapshot
from tests.support.world import World, assert_problem

PDF = b"%PDF-1.7\n" + b"p" * 100
OTHER_PDF = b"%PDF-1.7\n" + b"X" * 100  # same size: only the owner's bytes may land
HOST = "https://staffroom.test"


def media_routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path template) of every route about one media object."""
    found = [(m, t) for m, t, _, params in id_routes(app) if params == ["media_id"]]
    assert len(found) == 4, found  # read, download, upload bytes, complete
    return found


async def assert_no_access(
    app: Litestar, client: httpx.AsyncClient, rt: Any, world: World, h: dict[str, str], mid: str
) -> None:
    """Every media route answers 404 to these headers, and neither the org's rows nor the
    stored bytes change."""
    row = await Media.select().where(Media.id == uuid.UUID(mid)).first()
    path = rt.blobs.path(row["key"])
    stored = path.read_bytes() if path.is_file() else None
    before = await org_snapshot(world.acme.id)
    for method, template in media_routes(app):
        url = template.replace("{media_id:uuid}", mid)
        r = await client.request(method, url, headers=h, content=OTHER_PDF)
        problem = assert_problem(r, 404, "media_not_found")
        assert "download_url" not in problem, (method, url)
    assert await org_snapshot(world.acme.id) == before
    assert (path.read_bytes() if path.is_file() else None) == stored


async def upload(client: httpx.AsyncClient, h: dict[str, str], name: str = "payroll.pdf") -> str:
    announce = {"filename": name, "content_type": "application/pdf", "size": len(PDF)}
    r = await client.post("/api/v1/media/uploads", json=announce, headers=h)
    assert r.status_code == 201, r.text
    mid = str(r.json()["media_id"])
    r = await client.put(f"/api/v1/media/{mid}/content", content=PDF, headers=h)
    assert r.status_code == 200, r.text
    return mid


async def assert_reads(client: httpx.AsyncClient, h: dict[str, str], mid: str) -> None:
    r = await client.get(f"/api/v1/media/{mid}", headers=h)
    assert r.status_code == 200 and r.json()["download_url"] == f"{HOST}/api/v1/media/{mid}/content"
    r = await client.get(f"/api/v1/media/{mid}/content", headers=h)
    assert r.status_code == 200 and r.content == PDF


async def send_file(client, h, conversation_id: str, mid: str) -> None:
    r = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"client_msg_id": f"file-{mid}", "attachment_id": mid},
        headers=h,
    )
    assert r.status_code == 201, r.text


async def test_a_direct_conversations_file_is_its_two_peoples(
    app, client, rt, world: World
) -> None:
    member, editor, hr = await heads(client, world, "member", "editor", "hr_admin")
    r = await client.post(
        "/api/v1/conversations",
        json={"kind": "direct", "user_ids": [str(world.acme["editor"].id)]},
        headers=member,
    )
    direct = r.json()["id"]
    mid = await upload(client, member)
    await send_file(client, member, direct, mid)
    assert_problem(await client.get(f"/api/v1/conversations/{direct}", headers=hr), 404)
    await assert_no_access(app, client, rt, world, hr, mid)
    for h in (member, editor):
        await assert_reads(client, h, mid)


async def test_removal_from_a_conversation_ends_access_to_its_files(
    app, client, rt, world: World
) -> None:
    admin, member, editor = await heads(client, world, "admin", "member", "editor")
    conv = await group(client, world, admin, "member", "editor")
    mid = await upload(client, member, "rota.pdf")
    await send_file(client, member, conv["id"], mid)
    await assert_reads(client, editor, mid)
    r = await client.delete(
        f"/api/v1/conversations/{conv['id']}/members/{world.acme['editor'].id}", headers=admin
    )
    assert r.status_code == 204
    await assert_no_access(app, client, rt, world, editor, mid)
    await assert_reads(client, admin, mid)
    # Nor can the removed member lend it a new audience by attaching it elsewhere.
    other = await group(client, world, editor, "hr_admin")
    r = await client.post(
        f"/api/v1/conversations/{other['id']}/messages",
        json={"client_msg_id": "fwd", "attachment_id": mid},
        headers=editor,
    )
    assert_problem(r, 422, "unknown_media")
    # The uploader who leaves loses it too: once attached, the conversation decides.
    r = await client.delete(
        f"/api/v1/conversations/{conv['id']}/members/{world.acme['member'].id}", headers=member
    )
    assert r.status_code == 204
    await assert_no_access(app, client, rt, world, member, mid)


async def test_a_restricted_channels_files_are_its_audiences(app, client, rt, world: World) -> None:
    admin, editor, member = await heads(client, world, "admin", "editor", "member")
    board = (await client.post("/api/v1/groups", json={"name": "Board"}, headers=admin)).json()
    await client.post(
        f"/api/v1/groups/{board['id']}/members",
        json={"user_ids": [str(world.acme["editor"].id)]},
        headers=admin,
    )
    image = await upload(client, admin, "crest.pdf")
    r = await client.post(
        "/api/v1/channels",
        json={
            "name": "Board",
            "audience": "groups",
            "audience_group_ids": [board["id"]],
            "image_media_id": image,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    channel_id = r.json()["id"]
    mid = await upload(client, editor, "minutes.pdf")
    r = await client.post(
        f"/api/v1/channels/{channel_id}/posts",
        json={"title": "Minutes", "body": "Attached.", "attachment_ids": [mid]},
        headers=editor,
    )
    assert r.status_code == 201, r.text
    post_id = r.json()["id"]
    assert_problem(await client.get(f"/api/v1/posts/{post_id}", headers=member), 404)
    for media_id in (mid, image):
        await assert_no_access(app, client, rt, world, member, media_id)
        await assert_reads(client, editor, media_id)
        await assert_reads(client, admin, media_id)
    # A deleted post holds its file no longer: back to its uploader alone.
    assert (await client.delete(f"/api/v1/posts/{post_id}", headers=editor)).status_code == 204
    await assert_no_access(app, client, rt, world, admin, mid)
    await assert_reads(client, editor, mid)


async def test_a_pending_upload_is_its_uploaders_alone(app, client, rt, world: World) -> None:
    admin, member, editor = await heads(client, world, "admin", "member", "editor")
    announce = {"filename": "payroll.pdf", "content_type": "application/pdf", "size": len(PDF)}
    r = await client.post("/api/v1/media/uploads", json=announce, headers=member)
    mid = str(r.json()["media_id"])
    await assert_no_access(app, client, rt, world, editor, mid)
    r = await client.put(f"/api/v1/media/{mid}/content", content=PDF, headers=member)
    assert r.status_code == 200 and r.json()["status"] == "ready"
    await assert_reads(client, member, mid)
    # Ready but attached to nothing: still the uploader's alone, and not attachable.
    await assert_no_access(app, client, rt, world, editor, mid)
    news = (await client.post("/api/v1/channels", json={"name": "News"}, headers=admin)).json()
    r = await client.post(
        f"/api/v1/channels/{news['id']}/posts",
        json={"title": "Payroll", "body": "Look", "attachment_ids": [mid]},
        headers=editor,
    )
    assert_problem(r, 422, "unknown_media")
    conv = await group(client, world, editor, "hr_admin")
    r = await client.post(
        f"/api/v1/conversations/{conv['id']}/messages",
        json={"client_msg_id": "steal", "attachment_id": mid},
        headers=editor,
    )
    assert_problem(r, 422, "unknown_media")


async def test_s3_urls_are_presigned_only_for_readers_and_uploads_only_for_the_uploader(
    settings, world: World, moto_s3, monkeypatch
) -> None:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    boto3.client("s3", region_name="eu-central-1", endpoint_url=moto_s3).create_bucket(
        Bucket="staffroom-media-access",
        CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
    )
    extra = {
        "blob_backend": "s3",
        "s3_bucket": "staffroom-media-access",
        "s3_endpoint_url": moto_s3,
    }
    async with app_client(settings, **extra) as api:
        member, editor, hr = await heads(api, world, "member", "editor", "hr_admin")
        announce = {"filename": "payroll.pdf", "content_type": "application/pdf", "size": len(PDF)}
        r = await api.post("/api/v1/media/uploads", json=announce, headers=member)
        mid, target = r.json()["media_id"], r.json()["upload"]
        async with httpx.AsyncClient() as browser:
            r = await browser.post(target["url"], data=target["fields"], files={"file": PDF})
            assert r.status_code in (200, 204), r.text
        # Another member can neither verify the owner's upload nor get a URL for it.
        for h in (editor, hr):
            assert_problem(await api.post(f"/api/v1/media/{mid}/complete", headers=h), 404)
            assert_problem(await api.get(f"/api/v1/media/{mid}", headers=h), 404)
        assert (await Media.select(Media.status).first())["status"] == "pending"
        r = await api.post(f"/api/v1/media/{mid}/complete", headers=member)
        assert r.status_code == 200 and r.json()["status"] == "ready"
        r = await api.post(
            "/api/v1/conversations",
            json={"kind": "direct", "user_ids": [str(world.acme["editor"].id)]},
            headers=member,
        )
        await send_file(api, member, r.json()["id"], mid)
        assert_problem(await api.get(f"/api/v1/media/{mid}", headers=hr), 404)
        url = (await api.get(f"/api/v1/media/{mid}", headers=editor)).json()["download_url"]
        assert url.startswith(moto_s3) and "X-Amz-Signature" in url
        async with httpx.AsyncClient() as browser:
            assert (await browser.get(url)).content == PDF
