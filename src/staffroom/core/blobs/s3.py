"""Media and server objects in an S3 bucket through boto3 (every call in a thread)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from staffroom.core.blobs.base import (
    MEDIA_KEY,
    TTL_SECONDS,
    BlobInfo,
    UploadTarget,
    attachment,
    check_media_key,
    check_system_key,
)
from staffroom.core.errors import Unavailable

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
            Key=check_media_key(key),
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=TTL_SECONDS,
        )
        return UploadTarget(method="POST", url=post["url"], fields=dict(post["fields"]))

    async def stat(self, key: str) -> BlobInfo | None:
        head = await self._call(
            self.client.head_object, Bucket=self.bucket, Key=check_media_key(key)
        )
        if head is None:
            return None
        return BlobInfo(size=int(head["ContentLength"]), content_type=head.get("ContentType", ""))

    async def download_url(self, key: str, filename: str, local_url: str) -> str:
        url = await self._call(
            self.client.generate_presigned_url,
            ClientMethod="get_object",
            Params={
                "Bucket": self.bucket,
                "Key": check_media_key(key),
                "ResponseContentDisposition": attachment(filename),
            },
            ExpiresIn=TTL_SECONDS,
        )
        return str(url)

    async def delete(self, key: str) -> None:
        await self._call(self.client.delete_object, Bucket=self.bucket, Key=check_media_key(key))

    async def read(self, key: str) -> bytes:
        got = await self._call(self.client.get_object, Bucket=self.bucket, Key=check_media_key(key))
        if got is None:
            raise Unavailable("storage_unavailable", "A stored file is missing.")
        return bytes(await asyncio.to_thread(got["Body"].read))

    async def put(self, key: str, data: bytes) -> None:
        await self._call(
            self.client.put_object, Bucket=self.bucket, Key=check_system_key(key), Body=data
        )

    async def get(self, key: str) -> bytes | None:
        got = await self._call(
            self.client.get_object, Bucket=self.bucket, Key=check_system_key(key)
        )
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
        await self._call(self.client.delete_object, Bucket=self.bucket, Key=check_system_key(key))

    async def media_keys(self) -> list[str]:
        return [k for k in await self.keys("") if MEDIA_KEY.match(k)]

    async def write(self, key: str, data: bytes) -> None:
        await self._call(
            self.client.put_object, Bucket=self.bucket, Key=check_media_key(key), Body=data
        )

    # boto3's managed transfers: multipart, streamed from and to disk.
    async def put_file(self, key: str, path: Path) -> None:
        await self._upload(check_system_key(key), path)

    async def get_file(self, key: str, path: Path) -> bool:
        return await self._download(check_system_key(key), path)

    async def media_to_file(self, key: str, path: Path) -> bool:
        return await self._download(check_media_key(key), path)

    async def media_from_file(self, key: str, path: Path) -> None:
        await self._upload(check_media_key(key), path)

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
