"""Blob storage for media: a local folder (embedded) or S3 (boto3), the one adapter.

Clients upload straight to storage: a presigned S3 POST whose policy pins the key, the
content type and the size range, or (local) a PUT to the API itself. Downloads are
short-lived presigned URLs, or a checked API route locally. Keys are server-made
(org/uuid), never file names, so no name ever becomes a path.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from staffroom.core.errors import Unavailable
from staffroom.settings import Settings

_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}$")
# Objects the server itself writes (backups, the erasure ledger): fixed top folders.
_SYSTEM_KEY = re.compile(r"^(backups|ledger)(/[A-Za-z0-9._-]+)+$")
TTL_SECONDS = 300


@dataclass(frozen=True)
class UploadTarget:
    """How the client sends the bytes."""

    method: str  # POST (multipart form, S3) or PUT (raw body, local)
    url: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BlobInfo:
    size: int
    content_type: str


class BlobStore(Protocol):
    """Where media bytes live."""

    async def check(self) -> None:
        """Raise Unavailable when the storage cannot be reached."""

    async def upload_target(
        self, key: str, content_type: str, size: int, local_url: str
    ) -> UploadTarget:
        """Where and how to upload exactly this object."""

    async def stat(self, key: str) -> BlobInfo | None:
        """The stored object's size and type, or None."""

    async def download_url(self, key: str, filename: str, local_url: str) -> str:
        """A short-lived URL to fetch the object."""

    async def delete(self, key: str) -> None:
        """Remove an object (missing is fine)."""

    async def read(self, key: str) -> bytes:
        """A media object's bytes."""

    async def put(self, key: str, data: bytes) -> None:
        """Write a server object (backups/…, ledger/…)."""

    async def get(self, key: str) -> bytes | None:
        """A server object's bytes, or None."""

    async def keys(self, prefix: str) -> list[str]:
        """Server object keys under a prefix, sorted."""

    async def remove(self, key: str) -> None:
        """Remove a server object (missing is fine)."""

    async def media_keys(self) -> list[str]:
        """Every media object's key (for backups)."""

    async def write(self, key: str, data: bytes) -> None:
        """Store a media object's bytes (uploads)."""

    # Backups move whole databases and every media object: these go file to file, never
    # through memory (an archive can be far larger than the server's RAM).
    async def put_file(self, key: str, path: Path) -> None:
        """Write a server object from a file."""

    async def get_file(self, key: str, path: Path) -> bool:
        """Copy a server object into a file; False when there is none."""

    async def media_to_file(self, key: str, path: Path) -> None:
        """Copy a media object into a file."""

    async def media_from_file(self, key: str, path: Path) -> None:
        """Store a media object from a file (restores)."""


def _copy(src: Path, dst: Path) -> None:
    """Copy a file so that dst never exists half-written (blocking)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    part = dst.with_name(dst.name + ".part")
    shutil.copyfile(src, part)
    part.replace(dst)


def _check(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError("blob keys are org-id/media-id")
    return key


def _system(key: str) -> str:
    if not _SYSTEM_KEY.match(key) or ".." in key:
        raise ValueError("server object keys are backups/… or ledger/…")
    return key


class LocalBlobs:
    """Files under <data dir>/media; uploads and downloads go through the API."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str) -> Path:
        """The file of a key (keys are made by us: two UUIDs)."""
        return self.folder / _check(key)

    async def check(self) -> None:
        return None

    async def upload_target(
        self, key: str, content_type: str, size: int, local_url: str
    ) -> UploadTarget:
        return UploadTarget(method="PUT", url=local_url)

    async def write(self, key: str, data: bytes) -> None:
        """Store the bytes of a local upload."""

        def _write() -> None:
            path = self.path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        await asyncio.to_thread(_write)

    async def read(self, key: str) -> bytes:
        """The bytes of a stored object."""
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def stat(self, key: str) -> BlobInfo | None:
        path = self.path(key)
        exists = await asyncio.to_thread(path.is_file)
        if not exists:
            return None
        return BlobInfo(size=(await asyncio.to_thread(path.stat)).st_size, content_type="")

    async def download_url(self, key: str, filename: str, local_url: str) -> str:
        return local_url

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    def _system_path(self, key: str) -> Path:
        return self.folder / _system(key)

    async def put(self, key: str, data: bytes) -> None:
        path = self._system_path(key)

        def _write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)  # readers never see half an object

        await asyncio.to_thread(_write)

    async def get(self, key: str) -> bytes | None:
        path = self._system_path(key)
        return await asyncio.to_thread(lambda: path.read_bytes() if path.is_file() else None)

    async def keys(self, prefix: str) -> list[str]:
        base = self.folder

        def _list() -> list[str]:
            root = base / prefix.split("/")[0]
            if not root.is_dir():
                return []
            found = (str(p.relative_to(base)) for p in root.rglob("*") if p.is_file())
            return sorted(k for k in found if k.startswith(prefix) and not k.endswith(".part"))

        return await asyncio.to_thread(_list)

    async def remove(self, key: str) -> None:
        await asyncio.to_thread(self._system_path(key).unlink, missing_ok=True)

    async def media_keys(self) -> list[str]:
        base = self.folder

        def _list() -> list[str]:
            if not base.is_dir():
                return []
            found = (str(p.relative_to(base)) for p in base.glob("*/*") if p.is_file())
            return sorted(k for k in found if _KEY.match(k))

        return await asyncio.to_thread(_list)

    async def put_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(_copy, path, self._system_path(key))

    async def get_file(self, key: str, path: Path) -> bool:
        source = self._system_path(key)

        def _get() -> bool:
            if not source.is_file():
                return False
            _copy(source, path)
            return True

        return await asyncio.to_thread(_get)

    async def media_to_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(_copy, self.path(key), path)

    async def media_from_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(_copy, path, self.path(key))


class S3Blobs:
    """An S3 bucket through boto3, every call in a thread (boto3 blocks)."""

    def __init__(self, bucket: str, region: str, endpoint_url: str = "") -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client: Any = boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url or None,
            # Few, quick retries: a request waiting on storage holds a client and a worker;
            # an outage is answered with a 503 the client retries.
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "max_attempts": 2},
                connect_timeout=3,
                read_timeout=20,
            ),
        )

    async def _call(self, fn: Any, **kwargs: Any) -> Any:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(fn, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise Unavailable("storage_unavailable", "File storage is not reachable.") from exc
        except (BotoCoreError, Boto3Error) as exc:  # Boto3Error: a failed managed transfer
            raise Unavailable("storage_unavailable", "File storage is not reachable.") from exc

    async def check(self) -> None:
        await self._call(self.client.head_bucket, Bucket=self.bucket)

    async def upload_target(
        self, key: str, content_type: str, size: int, local_url: str
    ) -> UploadTarget:
        post = await self._call(
            self.client.generate_presigned_post,
            Bucket=self.bucket,
            Key=_check(key),
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=TTL_SECONDS,
        )
        return UploadTarget(method="POST", url=post["url"], fields=dict(post["fields"]))

    async def stat(self, key: str) -> BlobInfo | None:
        head = await self._call(self.client.head_object, Bucket=self.bucket, Key=_check(key))
        if head is None:
            return None
        return BlobInfo(size=int(head["ContentLength"]), content_type=head.get("ContentType", ""))

    async def download_url(self, key: str, filename: str, local_url: str) -> str:
        url = await self._call(
            self.client.generate_presigned_url,
            ClientMethod="get_object",
            Params={
                "Bucket": self.bucket,
                "Key": _check(key),
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=TTL_SECONDS,
        )
        return str(url)

    async def delete(self, key: str) -> None:
        await self._call(self.client.delete_object, Bucket=self.bucket, Key=_check(key))

    async def read(self, key: str) -> bytes:
        got = await self._call(self.client.get_object, Bucket=self.bucket, Key=_check(key))
        if got is None:
            raise Unavailable("storage_unavailable", "A stored file is missing.")
        return bytes(await asyncio.to_thread(got["Body"].read))

    async def put(self, key: str, data: bytes) -> None:
        await self._call(self.client.put_object, Bucket=self.bucket, Key=_system(key), Body=data)

    async def get(self, key: str) -> bytes | None:
        got = await self._call(self.client.get_object, Bucket=self.bucket, Key=_system(key))
        return None if got is None else bytes(await asyncio.to_thread(got["Body"].read))

    async def keys(self, prefix: str) -> list[str]:
        def _list() -> list[str]:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

        listed: list[str] = await self._call(_list)
        return listed

    async def remove(self, key: str) -> None:
        await self._call(self.client.delete_object, Bucket=self.bucket, Key=_system(key))

    async def media_keys(self) -> list[str]:
        return [k for k in await self.keys("") if _KEY.match(k)]

    async def write(self, key: str, data: bytes) -> None:
        await self._call(self.client.put_object, Bucket=self.bucket, Key=_check(key), Body=data)

    # boto3's managed transfers: multipart, streamed from and to disk.
    async def put_file(self, key: str, path: Path) -> None:
        await self._upload(_system(key), path)

    async def get_file(self, key: str, path: Path) -> bool:
        return await self._download(_system(key), path)

    async def media_to_file(self, key: str, path: Path) -> None:
        if not await self._download(_check(key), path):
            raise Unavailable("storage_unavailable", "A stored file is missing.")

    async def media_from_file(self, key: str, path: Path) -> None:
        await self._upload(_check(key), path)

    async def _upload(self, key: str, path: Path) -> None:
        await self._call(
            self.client.upload_file,
            Filename=str(path),
            Bucket=self.bucket,
            Key=key,
            Config=transfer_config(),
        )

    async def _download(self, key: str, path: Path) -> bool:
        part = path.with_name(path.name + ".part")
        done = await self._call(
            lambda: (
                self.client.download_file(
                    Bucket=self.bucket, Key=key, Filename=str(part), Config=transfer_config()
                )
                or True
            )
        )
        if done is None:  # no such object
            return False
        await asyncio.to_thread(part.replace, path)
        return True


# A transfer holds at most concurrency x chunk in memory (64 MiB), and 16 MiB parts reach
# S3's 10,000-part limit only at 156 GiB. Tests shrink the chunk to see multipart at work.
TRANSFER_CHUNK = 16 * 1024 * 1024


def transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=TRANSFER_CHUNK,
        multipart_chunksize=TRANSFER_CHUNK,
        max_concurrency=4,
    )


def make_blobs(settings: Settings) -> BlobStore:
    """The media store chosen by settings."""
    if settings.blob_backend == "s3":
        return S3Blobs(settings.s3_bucket, settings.s3_region, settings.s3_endpoint_url)
    return LocalBlobs(settings.data_path / "media")


def make_archive(settings: Settings) -> BlobStore:
    """Where backups and the erasure ledger live: never inside the database they protect."""
    if settings.backup_backend == "s3":
        return S3Blobs(
            settings.backup_bucket or settings.s3_bucket,
            settings.s3_region,
            settings.s3_endpoint_url,
        )
    return LocalBlobs(Path(settings.backup_dir) if settings.backup_dir else settings.data_path)
