"""Encrypted backups: create, list, verify, prune and restore.

An archive is a tar of a consistent database snapshot, every media object and a manifest
(row counts per table, SHA-256 of every file), sealed in chunks with AES-256-GCM under a
random data key that core/crypto wraps. It goes to the archive store (a local folder or
an S3 bucket) beside a small index entry. Restores go into an empty database only, check
the manifest, and re-apply the erasure ledger.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from staffroom.compliance.service import erasure, sealing, snapshots
from staffroom.compliance.service.sealing import ArchiveRefused
from staffroom.core import audit, clock
from staffroom.core.crypto import DecryptionFailed
from staffroom.core.runtime import Runtime

PREFIX = "backups/"
# stage, done, total: for progress bars
Report = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class BackupInfo:
    id: str
    created_at: datetime
    engine: str
    size: int
    media: int
    tables: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def _pack(tar: tarfile.TarFile, path: Path, name: str) -> str:
    """Add a file to the archive; returns its SHA-256."""
    await asyncio.to_thread(tar.add, path, arcname=name)
    return await asyncio.to_thread(_sha256, path)


def _aad(backup_id: str) -> bytes:
    return f"backup-key:{backup_id}".encode()


async def create(rt: Runtime, report: Report = _quiet) -> BackupInfo:
    """Snapshot, pack, seal and store a backup."""
    now = clock.utcnow()
    backup_id = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    url = rt.settings.effective_database_url
    with tempfile.TemporaryDirectory(prefix="staffroom-backup-") as tmp:
        work = Path(tmp)
        report("database snapshot", 0, 1)
        snapshot, counts = await snapshots.dump(url, work)
        report("database snapshot", 1, 1)
        media_keys = await rt.blobs.media_keys()
        files: dict[str, str] = {}
        tar_path = work / "archive.tar"
        # Everything goes file to file (the tar, the sealing, the upload): an archive may
        # be larger than memory, and tar and hashing run off the event loop.
        with tarfile.open(tar_path, "w") as tar:
            files[snapshot.name] = await _pack(tar, snapshot, snapshot.name)
            member = work / "media.bin"
            for done, key in enumerate(media_keys, start=1):
                # An object deleted since the listing (an erasure, a swept upload) is gone.
                if await rt.blobs.media_to_file(key, member):
                    files[f"media/{key}"] = await _pack(tar, member, f"media/{key}")
                report("media", done, len(media_keys))
            manifest = {
                "id": backup_id,
                "created_at": now.isoformat(),
                "engine": snapshots.engine_of(url),
                "tables": counts,
                "files": files,
            }
            raw = work / "manifest.json"
            raw.write_text(json.dumps(manifest, indent=2, sort_keys=True))
            await _pack(tar, raw, "manifest.json")
        report("encrypting", 0, 1)
        data_key = os.urandom(32)
        sealed = work / "archive.srbk"
        await asyncio.to_thread(sealing.seal_file, tar_path, sealed, data_key, backup_id)
        tar_path.unlink()  # the temporary folder holds one copy of the archive at a time
        snapshot.unlink()
        report("encrypting", 1, 1)
        index = {
            "id": backup_id,
            "created_at": now.isoformat(),
            "engine": manifest["engine"],
            "size": sealed.stat().st_size,
            "sha256": await asyncio.to_thread(_sha256, sealed),
            "wrapped_key": rt.keys.encrypt(data_key, _aad(backup_id)),
            "media": len(files) - 1,  # the database snapshot is the other file
            "tables": len(counts),
        }
        report("storing", 0, 1)
        await rt.archive.put_file(f"{PREFIX}{backup_id}.srbk", sealed)
        await rt.archive.put(f"{PREFIX}{backup_id}.json", json.dumps(index).encode())
        report("storing", 1, 1)
    await audit.record("backup.created", actor_type="system", details={"backup": backup_id})
    return _info(index)


def _info(index: dict[str, Any]) -> BackupInfo:
    return BackupInfo(
        id=index["id"],
        created_at=datetime.fromisoformat(index["created_at"]),
        engine=index["engine"],
        size=index["size"],
        media=index["media"],
        tables=index["tables"],
    )


async def _index(rt: Runtime, backup_id: str) -> dict[str, Any]:
    if not all(c.isalnum() or c in "-" for c in backup_id):
        raise ArchiveRefused("not a backup id")
    raw = await rt.archive.get(f"{PREFIX}{backup_id}.json")
    if raw is None:
        raise ArchiveRefused(f"no backup {backup_id}")
    doc: dict[str, Any] = json.loads(raw)
    return doc


async def list_backups(rt: Runtime) -> list[BackupInfo]:
    """Every backup in the archive store, newest first."""
    found = []
    for key in await rt.archive.keys(PREFIX):
        if key.endswith(".json"):
            raw = await rt.archive.get(key)
            if raw is not None:
                found.append(_info(json.loads(raw)))
    return sorted(found, key=lambda b: b.created_at, reverse=True)


async def _unpack(rt: Runtime, backup_id: str, work: Path, report: Report) -> dict[str, Any]:
    """Fetch, check, decrypt and unpack a backup into work; returns its manifest."""
    index = await _index(rt, backup_id)
    report("fetching", 0, 1)
    sealed, tar_path = work / "archive.srbk", work / "archive.tar"
    if not await rt.archive.get_file(f"{PREFIX}{backup_id}.srbk", sealed):
        raise ArchiveRefused("the archive object is missing")
    if await asyncio.to_thread(_sha256, sealed) != index["sha256"]:
        raise ArchiveRefused("the archive does not match its checksum (tampered?)")
    report("fetching", 1, 1)
    try:
        data_key = rt.keys.decrypt(index["wrapped_key"], _aad(backup_id))
    except DecryptionFailed as exc:
        raise ArchiveRefused("the backup key does not open (wrong key file?)") from exc
    report("decrypting", 0, 1)
    await asyncio.to_thread(sealing.open_file, sealed, tar_path, data_key, backup_id)
    sealed.unlink()
    report("decrypting", 1, 1)
    out = work / "unpacked"

    def _extract() -> None:
        with tarfile.open(tar_path) as tar:
            tar.extractall(out, filter="data")  # no links, no paths outside out
        tar_path.unlink()

    await asyncio.to_thread(_extract)
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    if manifest.get("id") != backup_id:
        raise ArchiveRefused("the manifest belongs to another backup")
    for done, (name, digest) in enumerate(manifest["files"].items(), start=1):
        path = out / name
        if not path.is_file() or await asyncio.to_thread(_sha256, path) != digest:
            raise ArchiveRefused(f"{name} does not match the manifest")
        report("checking files", done, len(manifest["files"]))
    return manifest


def _snapshot_name(manifest: dict[str, Any]) -> str:
    return "database.sqlite3" if manifest["engine"] == "sqlite" else "database.pgdump"


async def verify(rt: Runtime, backup_id: str, report: Report = _quiet) -> dict[str, Any]:
    """Check a backup end to end without restoring it; returns its manifest."""
    with tempfile.TemporaryDirectory(prefix="staffroom-verify-") as tmp:
        manifest = await _unpack(rt, backup_id, Path(tmp), report)
        snapshot = Path(tmp) / "unpacked" / _snapshot_name(manifest)
        try:
            await asyncio.to_thread(snapshots.check_snapshot, manifest["engine"], snapshot)
        except Exception as exc:
            raise ArchiveRefused(f"the database snapshot does not load: {exc}") from exc
    return manifest


async def restore(rt: Runtime, backup_id: str, report: Report = _quiet) -> dict[str, Any]:
    """Restore into the configured (empty) database and media store, then re-apply
    the erasure ledger. Returns the manifest."""
    url = rt.settings.effective_database_url
    with tempfile.TemporaryDirectory(prefix="staffroom-restore-") as tmp:
        manifest = await _unpack(rt, backup_id, Path(tmp), report)
        if manifest["engine"] != snapshots.engine_of(url):
            raise ArchiveRefused(f"this is a {manifest['engine']} backup")
        unpacked = Path(tmp) / "unpacked"
        report("restoring database", 0, 1)
        await snapshots.restore(url, unpacked / _snapshot_name(manifest))
        report("restoring database", 1, 1)
        restored = await snapshots.counts(url)
        if restored != manifest["tables"]:
            raise ArchiveRefused("restored row counts differ from the manifest")
        media = [n for n in manifest["files"] if n.startswith("media/")]
        for done, name in enumerate(media, start=1):
            await rt.blobs.media_from_file(name.removeprefix("media/"), unpacked / name)
            report("restoring media", done, len(media))
    again = await erasure.reapply(rt)
    await audit.record(
        "backup.restored",
        actor_type="system",
        details={"backup": backup_id, "erasures_reapplied": again},
    )
    return manifest


def plan_prune(
    backups: list[BackupInfo], daily: int, weekly: int, monthly: int
) -> tuple[list[BackupInfo], list[BackupInfo]]:
    """(keep, delete): the newest backup of each of the last `daily` days, `weekly` ISO
    weeks and `monthly` months are kept (grandfather-father-son)."""
    newest_first = sorted(backups, key=lambda b: b.created_at, reverse=True)
    keep: dict[str, BackupInfo] = {}
    for count, period in ((daily, "%Y-%m-%d"), (weekly, "%G-W%V"), (monthly, "%Y-%m")):
        seen: list[str] = []
        for backup in newest_first:
            label = backup.created_at.strftime(period)
            if label in seen:
                continue
            if len(seen) == count:
                break
            seen.append(label)
            keep[backup.id] = backup
    return (
        [b for b in newest_first if b.id in keep],
        [b for b in newest_first if b.id not in keep],
    )


async def prune(rt: Runtime, report: Report = _quiet) -> tuple[int, int]:
    """Delete backups outside the retention plan; returns (kept, deleted)."""
    s = rt.settings
    keep, drop = plan_prune(
        await list_backups(rt), s.backup_keep_daily, s.backup_keep_weekly, s.backup_keep_monthly
    )
    for done, backup in enumerate(drop, start=1):
        await rt.archive.remove(f"{PREFIX}{backup.id}.srbk")
        await rt.archive.remove(f"{PREFIX}{backup.id}.json")
        report("pruning", done, len(drop))
    if drop:
        await audit.record(
            "backup.pruned", actor_type="system", details={"deleted": [b.id for b in drop]}
        )
    return len(keep), len(drop)
