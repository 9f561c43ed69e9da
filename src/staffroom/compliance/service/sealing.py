"""Backup archives sealed in chunks with AES-256-GCM under a random data key; the data
key is wrapped by core/crypto (so key rotation and rewrap cover it). Each chunk's AAD
binds it to the backup id, its index and whether it is the last one: reordered,
truncated or swapped chunks fail, as does a wrong key."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"SRBK1\n"
CHUNK = 4 * 1024 * 1024


class ArchiveRefused(Exception):
    """The archive is not what it should be: tampered, truncated or the wrong key."""


def _aad(backup_id: str, index: int, last: bool) -> bytes:
    return f"{backup_id}:{index}:{int(last)}".encode()


def seal_file(src: Path, dst: Path, data_key: bytes, backup_id: str) -> None:
    """Encrypt src into dst (blocking: call in a thread)."""
    aead = AESGCM(data_key)
    size = src.stat().st_size
    chunks = max(1, -(-size // CHUNK))
    with src.open("rb") as fin, dst.open("wb") as fout:
        fout.write(MAGIC)
        for index in range(chunks):
            plain = fin.read(CHUNK)
            nonce = os.urandom(12)
            sealed = aead.encrypt(nonce, plain, _aad(backup_id, index, index == chunks - 1))
            del plain
            fout.write(struct.pack(">I", len(sealed)) + nonce)
            fout.write(sealed)  # not concatenated: that would copy the chunk again
            # Dropped before the next chunk is read: one chunk and its seal in memory at most.
            del sealed


def _frames(fin: BinaryIO) -> Iterator[tuple[bytes, bytes, bool]]:
    if fin.read(len(MAGIC)) != MAGIC:
        raise ArchiveRefused("not a Staffroom backup")
    header = fin.read(4)
    while header:
        if len(header) != 4:
            raise ArchiveRefused("truncated")
        (length,) = struct.unpack(">I", header)
        if length > CHUNK + 16:
            raise ArchiveRefused("corrupt chunk length")
        nonce, sealed = fin.read(12), fin.read(length)
        if len(nonce) != 12 or len(sealed) != length:
            raise ArchiveRefused("truncated")
        header = fin.read(4)
        yield nonce, sealed, not header
        del sealed  # before the next chunk is read (the caller drops its reference too)


def open_file(src: Path, dst: Path, data_key: bytes, backup_id: str) -> None:
    """Decrypt src into dst; any tampering raises ArchiveRefused (blocking)."""
    aead = AESGCM(data_key)
    with src.open("rb") as fin, dst.open("wb") as fout:
        for index, (nonce, sealed, last) in enumerate(_frames(fin)):
            try:
                plain = aead.decrypt(nonce, sealed, _aad(backup_id, index, last))
            except InvalidTag as exc:
                raise ArchiveRefused(f"chunk {index} does not open") from exc
            del sealed
            fout.write(plain)
            del plain
