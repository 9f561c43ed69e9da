"""What every blob store shares: the protocol, the key rules, the upload and info shapes."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

MEDIA_KEY = re.compile(r"^[0-9a-f-]{36}/[0-9a-f-]{36}$")
# Objects the server itself writes (backups, the erasure ledger): fixed top folders.
SYSTEM_KEY = re.compile(r"^(backups|ledger)(/[A-Za-z0-9._-]+)+$")
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

    async def media_to_file(self, key: str, path: Path) -> bool:
        """Copy a media object into a file; False when there is none (deleted, or lost)."""

    async def media_from_file(self, key: str, path: Path) -> None:
        """Store a media object from a file (restores)."""


def attachment(filename: str) -> str:
    """A Content-Disposition offering a download under its name (RFC 6266): the name
    percent-encoded for clients that read `filename*`, an ASCII stand-in for the rest
    (HTTP header values are Latin-1: a name in another script cannot go in as it is)."""
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in filename)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def copy_file(src: Path, dst: Path) -> None:
    """Copy a file so that dst never exists half-written (blocking)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    part = dst.with_name(dst.name + ".part")
    shutil.copyfile(src, part)
    part.replace(dst)


def check_media_key(key: str) -> str:
    if not MEDIA_KEY.match(key):
        raise ValueError("blob keys are org-id/media-id")
    return key


def check_system_key(key: str) -> str:
    if not SYSTEM_KEY.match(key) or ".." in key:
        raise ValueError("server object keys are backups/… or ledger/…")
    return key
