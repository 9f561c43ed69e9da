"""Media for posts and chat: announce an upload, send the bytes to storage, verify,
attach, fetch.

Who may read or write a file is decided in one place, `media_access` (readers of what it
is attached to, its uploader until then; bytes by the uploader only). Only images and
PDFs of a bounded size are accepted, and a file is usable only once the stored bytes
match what was announced.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from staffroom.core import clock
from staffroom.core.blobs import TTL_SECONDS, LocalBlobs
from staffroom.core.context import Principal
from staffroom.core.errors import Conflict, Invalid, NotFound, Unavailable
from staffroom.core.runtime import Runtime
from staffroom.feeds.schemas import MediaOut, UploadIn, UploadOut, UploadTargetOut
from staffroom.feeds.service import media_access
from staffroom.feeds.tables import Media

# Pending uploads older than their URL plus this are abandoned.
ABANDONED_AFTER = timedelta(hours=1)

# Content types and the first bytes each must start with (checked on local uploads).
ALLOWED: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}


def _local_url(rt: Runtime, media_id: uuid.UUID) -> str:
    return f"{rt.settings.public_url.rstrip('/')}/api/v1/media/{media_id}/content"


def _safe_name(name: str) -> str:
    # Shown and offered as a download name only: strip paths, quotes and controls.
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '"<>|:*?')
    return cleaned.strip(". ")[:200] or "file"


async def start_upload(rt: Runtime, principal: Principal, data: UploadIn) -> UploadOut:
    """Where and how to upload a file of this type and size."""
    if data.content_type not in ALLOWED:
        raise Invalid("media_type_not_allowed", "Upload images (PNG, JPEG, GIF, WebP) or PDFs.")
    if data.size > rt.settings.media_max_bytes:
        raise Invalid(
            "media_too_large", f"Files may be at most {rt.settings.media_max_bytes} bytes."
        )
    # Presigning needs no network: ask storage first, so an outage is a 503 now rather
    # than an upload that cannot land and a row left pending.
    await rt.blobs.check()
    media_id = uuid.uuid4()
    key = f"{principal.org_id}/{media_id}"
    target = await rt.blobs.upload_target(
        key, data.content_type, data.size, _local_url(rt, media_id)
    )
    await Media.insert(
        Media(
            id=media_id,
            org=principal.org_id,
            uploader=principal.user_id,
            key=key,
            filename=_safe_name(data.filename),
            content_type=data.content_type,
            size=data.size,
            created_at=clock.utcnow(),
        )
    )
    return UploadOut(
        media_id=media_id,
        upload=UploadTargetOut(
            method="POST" if target.method == "POST" else "PUT",
            url=target.url,
            fields=target.fields,
        ),
        max_bytes=data.size,
    )


async def sweep_abandoned(rt: Runtime) -> int:
    """Forget uploads announced but never completed once their upload URL has long expired
    (the client gave up, or storage failed under it); any bytes that did land go too."""
    cutoff = clock.utcnow() - timedelta(seconds=TTL_SECONDS) - ABANDONED_AFTER
    rows = await Media.select(Media.id, Media.key).where(
        (Media.status == "pending") & (Media.created_at < cutoff)
    )
    for row in rows:
        await rt.blobs.delete(row["key"])
        await Media.delete().where((Media.id == row["id"]) & (Media.status == "pending"))
    return len(rows)


async def put_local(
    rt: Runtime, principal: Principal, media_id: uuid.UUID, body: bytes
) -> MediaOut:
    """The embedded backend's upload: the announced size and type, or nothing is stored."""
    if not isinstance(rt.blobs, LocalBlobs):
        raise NotFound("media_not_found", "Upload to the URL you were given.")
    row = await media_access.writable(rt, principal, media_id)
    if row["status"] != "pending":
        raise Conflict("media_already_uploaded", "This file is already uploaded.")
    if len(body) != row["size"]:
        raise Invalid("media_size_mismatch", "The file is not the size that was announced.")
    if not body.startswith(ALLOWED[row["content_type"]]):
        raise Invalid("media_type_mismatch", f"This is not a {row['content_type']} file.")
    await rt.blobs.write(row["key"], body)
    return await _mark_ready(rt, principal, row)


async def complete(rt: Runtime, principal: Principal, media_id: uuid.UUID) -> MediaOut:
    """After a direct upload to storage: check what is stored, then the file is usable."""
    row = await media_access.writable(rt, principal, media_id)
    if row["status"] == "ready":
        return await get(rt, principal, media_id)
    info = await rt.blobs.stat(row["key"])
    if info is None:
        raise Conflict("media_not_uploaded", "The file has not been uploaded yet.")
    if info.size != row["size"] or (info.content_type and info.content_type != row["content_type"]):
        await rt.blobs.delete(row["key"])
        raise Invalid("media_mismatch", "The stored file is not what was announced.")
    return await _mark_ready(rt, principal, row)


async def _mark_ready(rt: Runtime, principal: Principal, row: dict[str, Any]) -> MediaOut:
    # Only a pending row turns ready: of two racing uploads of the uploader's, one wins.
    await Media.update({Media.status: "ready"}).where(
        (Media.id == row["id"]) & (Media.status == "pending")
    )
    return await get(rt, principal, row["id"])


async def get(rt: Runtime, principal: Principal, media_id: uuid.UUID) -> MediaOut:
    """A file the caller may read, with a short-lived download URL once it is ready (the
    presigned URL is made only here, after the access check)."""
    row = await media_access.readable(rt, principal, media_id)
    url = None
    if row["status"] == "ready":
        url = await rt.blobs.download_url(row["key"], row["filename"], _local_url(rt, media_id))
    return MediaOut(
        id=row["id"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        status=row["status"],
        download_url=url,
        created_at=row["created_at"],
    )


async def read_local(
    rt: Runtime, principal: Principal, media_id: uuid.UUID
) -> tuple[Path, str, str]:
    """(file, content type, file name) of a ready file (embedded backend): the route
    streams it from disk rather than holding it in memory."""
    row = await media_access.readable(rt, principal, media_id)
    if row["status"] != "ready" or not isinstance(rt.blobs, LocalBlobs):
        raise NotFound("media_not_found", "No such file.")
    path = rt.blobs.path(row["key"])
    if not await asyncio.to_thread(path.is_file):
        raise Unavailable("storage_unavailable", "A stored file is missing.")
    return path, row["content_type"], row["filename"]


async def check_attachments(rt: Runtime, principal: Principal, ids: list[uuid.UUID]) -> list[str]:
    """Attachments must be ready files the caller may read: their own uploads, or files
    they can already see (forwarding one shows nothing they could not re-upload). So
    nobody widens the audience of someone else's file they cannot read."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    found = await Media.count().where(
        Media.id.is_in(wanted) & (Media.org == principal.org_id) & (Media.status == "ready")
    )
    try:
        if found != len(wanted):
            raise media_access.no_media()
        for media_id in wanted:
            await media_access.readable(rt, principal, media_id)
    except NotFound:
        raise Invalid(
            "unknown_media", "Attach only files of your organisation that are uploaded."
        ) from None
    return [str(i) for i in wanted]
