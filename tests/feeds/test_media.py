"""Media: local storage through the API, and S3 through boto3 against moto's server."""

from __future__ import annotations

import uuid

import httpx

from staffroom.feeds.tables import Media
from tests.support.apps import app_client
from tests.support.flows import auth
from tests.support.world import World, assert_problem, login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56
PDF = b"%PDF-1.7\n" + b"x" * 100


async def _editor(client) -> dict[str, str]:
    return auth(await login(client, "acme", "editor@acme.example"))


async def _news(client) -> str:
    admin = auth(await login(client, "acme", "admin@acme.example"))
    r = await client.post("/api/v1/channels", json={"name": "News"}, headers=admin)
    return str(r.json()["id"])


async def test_local_upload_attach_and_download(client, world: World) -> None:
    h = await _editor(client)
    r = await client.post(
        "/api/v1/media/uploads",
        json={
            "filename": "../../etc/Team photo.png",
            "content_type": "image/png",
            "size": len(PNG),
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    target = r.json()["upload"]
    assert target["method"] == "PUT" and target["url"].endswith("/content")
    media_id = r.json()["media_id"]
    path = target["url"].removeprefix("https://staffroom.test")
    assert_problem(await client.put(path, content=PNG[:-1], headers=h), 422, "media_size_mismatch")
    assert_problem(await client.put(path, content=b"GIF89a" + PNG[6:], headers=h), 422)
    r = await client.put(path, content=PNG, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert r.json()["filename"] == "Team photo.png"  # no path survives
    news = await _news(client)
    r = await client.post(
        f"/api/v1/channels/{news}/posts",
        json={"title": "Photo", "body": "See!", "attachment_ids": [media_id]},
        headers=h,
    )
    assert r.json()["attachment_ids"] == [media_id]
    member = auth(await login(client, "acme", "member@acme.example"))
    feed = (await client.get("/api/v1/feed", headers=member)).json()
    assert feed["items"][0]["attachment_ids"] == [media_id]
    r = await client.get(f"/api/v1/media/{media_id}/content", headers=member)
    assert r.content == PNG and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == 'attachment; filename="Team photo.png"'
    globex = auth(await login(client, "globex", "editor@globex.example"))
    assert_problem(await client.get(f"/api/v1/media/{media_id}/content", headers=globex), 404)


async def test_bad_uploads_are_refused_and_nothing_is_stored(client, world: World) -> None:
    h = await _editor(client)
    for body, code in (
        ({"filename": "x.html", "content_type": "text/html", "size": 10}, "media_type_not_allowed"),
        (
            {"filename": "x.svg", "content_type": "image/svg+xml", "size": 10},
            "media_type_not_allowed",
        ),
        ({"filename": "x.png", "content_type": "image/png", "size": 10**9}, "media_too_large"),
    ):
        assert_problem(await client.post("/api/v1/media/uploads", json=body, headers=h), 422, code)
    assert_problem(
        await client.post(
            "/api/v1/media/uploads",
            json={"filename": "x.png", "content_type": "image/png", "size": 0},
            headers=h,
        ),
        400,
    )
    news = await _news(client)
    pending = (
        await client.post(
            "/api/v1/media/uploads",
            json={"filename": "x.pdf", "content_type": "application/pdf", "size": len(PDF)},
            headers=h,
        )
    ).json()["media_id"]
    r = await client.post(
        f"/api/v1/channels/{news}/posts",
        json={"title": "x", "body": "y", "attachment_ids": [pending]},
        headers=h,
    )
    assert_problem(r, 422, "unknown_media")
    assert await Media.count() == 1


async def test_s3_presigned_upload_and_download(
    settings, world: World, moto_s3, monkeypatch
) -> None:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    boto3.client("s3", region_name="eu-central-1", endpoint_url=moto_s3).create_bucket(
        Bucket="staffroom-media",
        CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
    )
    async with app_client(
        settings,
        blob_backend="s3",
        s3_bucket="staffroom-media",
        s3_endpoint_url=moto_s3,
    ) as api:
        h = auth(await login(api, "acme", "editor@acme.example"))
        r = await api.post(
            "/api/v1/media/uploads",
            json={"filename": "rota.pdf", "content_type": "application/pdf", "size": len(PDF)},
            headers=h,
        )
        upload = r.json()["upload"]
        media_id = r.json()["media_id"]
        assert upload["method"] == "POST" and upload["url"].startswith(moto_s3)
        assert "policy" in {k.lower() for k in upload["fields"]}
        assert_problem(await api.post(f"/api/v1/media/{media_id}/complete", headers=h), 409)
        async with httpx.AsyncClient() as browser:
            r = await browser.post(
                upload["url"], data=upload["fields"], files={"file": ("rota.pdf", PDF)}
            )
            assert r.status_code in (200, 204), r.text
        r = await api.post(f"/api/v1/media/{media_id}/complete", headers=h)
        assert r.status_code == 200 and r.json()["status"] == "ready"
        url = r.json()["download_url"]
        assert url.startswith(moto_s3) and "X-Amz-Signature" in url
        async with httpx.AsyncClient() as browser:
            assert (await browser.get(url)).content == PDF
        # The local content route is not how S3 files are served.
        assert_problem(await api.get(f"/api/v1/media/{media_id}/content", headers=h), 404)


async def test_a_channel_image_is_an_uploaded_file_of_the_org(client, world: World) -> None:
    admin = auth(await login(client, "acme", "admin@acme.example"))
    r = await client.post(
        "/api/v1/media/uploads",
        json={"filename": "logo.png", "content_type": "image/png", "size": len(PNG)},
        headers=admin,
    )
    media_id = r.json()["media_id"]
    body = {"name": "News", "image_media_id": media_id}
    assert_problem(await client.post("/api/v1/channels", json=body, headers=admin), 422)
    await client.put(f"/api/v1/media/{media_id}/content", content=PNG, headers=admin)
    r = await client.post("/api/v1/channels", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["image_media_id"] == media_id
    globex = auth(await login(client, "globex", "admin@globex.example"))
    r = await client.post("/api/v1/channels", json=body, headers=globex)
    assert_problem(r, 422, "unknown_media")
    channel_id = (await client.get("/api/v1/channels", headers=admin)).json()["items"][0]["id"]
    r = await client.patch(
        f"/api/v1/channels/{channel_id}", json={"image_media_id": None}, headers=admin
    )
    assert r.status_code == 200 and r.json()["image_media_id"] is None


async def test_storage_down_is_a_503_with_retry_after_and_no_row(settings, world: World) -> None:
    from tests.support.servers import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    async with app_client(
        settings, blob_backend="s3", s3_bucket="staffroom-media", s3_endpoint_url=dead
    ) as api:
        h = auth(await login(api, "acme", "editor@acme.example"))
        r = await api.post(
            "/api/v1/media/uploads",
            json={"filename": "rota.pdf", "content_type": "application/pdf", "size": len(PDF)},
            headers=h,
        )
        assert_problem(r, 503, "storage_unavailable")
        assert int(r.headers["retry-after"]) >= 1
    assert await Media.count() == 0


async def test_abandoned_uploads_are_swept_and_recent_ones_stay(client, rt, world: World) -> None:
    from staffroom.core import clock
    from staffroom.feeds.service import media

    h = await _editor(client)
    announce = {"filename": "a.png", "content_type": "image/png", "size": len(PNG)}
    old = (await client.post("/api/v1/media/uploads", json=announce, headers=h)).json()
    done = (await client.post("/api/v1/media/uploads", json=announce, headers=h)).json()
    r = await client.put(f"/api/v1/media/{done['media_id']}/content", content=PNG, headers=h)
    assert r.status_code == 200, r.text
    clock.travel(2 * 3600)
    h = await _editor(client)
    fresh = (await client.post("/api/v1/media/uploads", json=announce, headers=h)).json()
    assert await media.sweep_abandoned(rt) == 1
    left = {str(m["id"]): m["status"] for m in await Media.select(Media.id, Media.status)}
    assert left == {done["media_id"]: "ready", fresh["media_id"]: "pending"}
    assert old["media_id"] not in left


async def test_a_file_named_in_any_script_downloads_under_its_name(client, world: World) -> None:
    h = await _editor(client)
    announce = {"filename": "写真 Ünïcode.png", "content_type": "image/png", "size": len(PNG)}
    r = await client.post("/api/v1/media/uploads", json=announce, headers=h)
    path = r.json()["upload"]["url"].removeprefix("https://staffroom.test")
    assert (await client.put(path, content=PNG, headers=h)).status_code == 200
    r = await client.get(path, headers=h)
    assert r.status_code == 200 and r.content == PNG
    # RFC 6266: an ASCII fallback for old clients, the exact name for the rest.
    assert r.headers["content-disposition"] == (
        'attachment; filename="__ _n_code.png"; '
        "filename*=UTF-8''%E5%86%99%E7%9C%9F%20%C3%9Cn%C3%AFcode.png"
    )


async def test_a_file_lost_from_storage_is_a_503_not_a_crash(client, rt, world: World) -> None:
    h = await _editor(client)
    announce = {"filename": "gone.png", "content_type": "image/png", "size": len(PNG)}
    r = await client.post("/api/v1/media/uploads", json=announce, headers=h)
    media_id = r.json()["media_id"]
    path = r.json()["upload"]["url"].removeprefix("https://staffroom.test")
    assert (await client.put(path, content=PNG, headers=h)).status_code == 200
    row = await Media.select(Media.key).where(Media.id == uuid.UUID(media_id)).first()
    rt.blobs.path(row["key"]).unlink()
    assert_problem(await client.get(path, headers=h), 503, "storage_unavailable")
