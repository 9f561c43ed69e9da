"""Media and server objects in a local folder (the embedded default)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from staffroom.core.blobs.base import (
    MEDIA_KEY,
    BlobInfo,
    UploadTarget,
    check_media_key,
    check_system_key,
    copy_file,
)


class LocalBlobs:
    """Files under <data dir>/media; uploads and downloads go through the API."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str) -> Path:
        """The file of a key (keys are made by us: two UUIDs)."""
        return self.folder / check_media_key(key)

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
        return self.folder / check_system_key(key)

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
            return sorted(k for k in found if MEDIA_KEY.match(k))

        return await asyncio.to_thread(_list)

    async def put_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(copy_file, path, self._system_path(key))

    async def get_file(self, key: str, path: Path) -> bool:
        return await asyncio.to_thread(_copy_if_there, self._system_path(key), path)

    async def media_to_file(self, key: str, path: Path) -> bool:
        return await asyncio.to_thread(_copy_if_there, self.path(key), path)

    async def media_from_file(self, key: str, path: Path) -> None:
        await asyncio.to_thread(copy_file, path, self.path(key))


def _copy_if_there(source: Path, path: Path) -> bool:
    """Copy source to path; False when there is no source (blocking)."""
    if not source.is_file():
        return False
    copy_file(source, path)
    return True
