"""T16: backups are encrypted; a tampered archive or a wrong key fails closed; a restore
into an empty database is identical; an erased person stays erased; retention."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from staffroom.compliance.service import backups, sealing
from staffroom.compliance.service.backups import BackupInfo, plan_prune
from staffroom.compliance.service.sealing import ArchiveRefused
from staffroom.core.blobs import s3 as s3_blobs
from staffroom.core.runtime import Runtime
from tests.chat.helpers import group, say
from tests.support.world import World, bearer

# Rows written after the snapshot (the backup's own audit event) are not in it.
_LATER = ("audit_event", "audit_chain")


async def _contents(url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every table's rows as sorted tuples of text: comparable across two databases."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            names = [
                r[0]
                for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return {
                n: sorted(tuple(map(str, row)) for row in db.execute(f'SELECT * FROM "{n}"'))
                for n in names
            }
    conn = await asyncpg.connect(url)
    try:
        names = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        ]
        return {
            n: sorted(tuple(map(str, r.values())) for r in await conn.fetch(f'SELECT * FROM "{n}"'))
            for n in names
        }
    finally:
        await conn.close()


async def _empty_database(settings: Any, tmp_path: Path) -> str:
    url = settings.effective_database_url
    if url.startswith("sqlite:///"):
        return f"sqlite:///{tmp_path / 'restored.db'}"
    name = f"restore_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "staffroom", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


async def _activity(client, world: World, rt: Runtime) -> None:
    admin = await bearer(client, world.acme, "admin")
    conv = await group(client, world, admin, "member")
    await say(client, admin, conv["id"], "Payroll runs on Friday", "p1")
    await rt.blobs.write(f"{world.acme.id}/{uuid.uuid4()}", b"\x89PNG a picture")


async def test_backup_restore_gives_identical_tables_and_media(
    client, world: World, rt: Runtime, settings, tmp_path: Path
):
    await _activity(client, world, rt)
    before = await _contents(settings.effective_database_url)
    media_before = {k: await rt.blobs.read(k) for k in await rt.blobs.media_keys()}
    info = await backups.create(rt)
    assert [b.id for b in await backups.list_backups(rt)] == [info.id]
    sealed = await rt.archive.get(f"backups/{info.id}.srbk")
    assert sealed is not None
    assert b"Payroll" not in sealed and b"acme" not in sealed and b"PNG a picture" not in sealed
    manifest = await backups.verify(rt, info.id)
    assert manifest["tables"]["app_user"] == 14
    target = await _empty_database(settings, tmp_path)
    media_dir = tmp_path / "media-restored"
    result = _cli(
        "backup",
        "restore",
        info.id,
        STAFFROOM_DATABASE_URL=target,
        STAFFROOM_BACKUP_DIR=str(rt.settings.data_path),
        STAFFROOM_DATA_DIR=str(tmp_path),
        STAFFROOM_KEYS_FILE=str(rt.settings.effective_keys_file),
    )
    assert result.returncode == 0, result.stderr
    after = await _contents(target)
    assert set(after) == set(before)
    for table in before:
        if table not in _LATER:
            assert after[table] == before[table], table
    assert set(before["audit_event"]) <= set(after["audit_event"])
    restored_media = tmp_path / "media"
    assert {
        str(p.relative_to(restored_media)): p.read_bytes() for p in restored_media.glob("*/*")
    } == media_before
    assert not media_dir.exists()
    # A restore goes into an empty database only.
    again = _cli(
        "backup",
        "restore",
        info.id,
        STAFFROOM_DATABASE_URL=target,
        STAFFROOM_BACKUP_DIR=str(rt.settings.data_path),
        STAFFROOM_DATA_DIR=str(tmp_path),
        STAFFROOM_KEYS_FILE=str(rt.settings.effective_keys_file),
    )
    assert again.returncode == 2 and "refused" in again.stderr


async def test_an_erased_person_stays_erased_after_restoring_an_older_backup(
    client, world: World, rt: Runtime, settings, tmp_path: Path
):
    info = await backups.create(rt)
    owner = await bearer(client, world.acme, "owner")
    member_id = world.acme["member"].id
    r = await client.post(
        f"/api/v1/users/{member_id}/erase", json={"reason": "left in 2026"}, headers=owner
    )
    assert r.status_code == 204
    target = await _empty_database(settings, tmp_path)
    result = _cli(
        "backup",
        "restore",
        info.id,
        STAFFROOM_DATABASE_URL=target,
        STAFFROOM_BACKUP_DIR=str(rt.settings.data_path),
        STAFFROOM_DATA_DIR=str(tmp_path),
        STAFFROOM_KEYS_FILE=str(rt.settings.effective_keys_file),
    )
    assert result.returncode == 0, result.stderr
    users = (await _contents(target))["app_user"]
    row = next(u for u in users if str(member_id) in u)
    assert "erased" in row and "member@acme.example" not in row and "Deleted user" in row


async def test_a_restore_ends_again_what_an_erased_person_left_elsewhere(
    client, world: World, rt: Runtime, settings, tmp_path: Path
):
    # HR's pending invitation is in the backup; HR is then erased, which withdraws it.
    hr = await bearer(client, world.acme, "hr_admin")
    r = await client.post("/api/v1/invites", json={"email": "new.hire@acme.example"}, headers=hr)
    assert r.status_code == 201, r.text
    info = await backups.create(rt)
    owner = await bearer(client, world.acme, "owner")
    hr_id = world.acme["hr_admin"].id
    r = await client.post(f"/api/v1/users/{hr_id}/erase", json={"reason": "left"}, headers=owner)
    assert r.status_code == 204
    target = await _empty_database(settings, tmp_path)
    result = _cli(
        "backup",
        "restore",
        info.id,
        STAFFROOM_DATABASE_URL=target,
        STAFFROOM_BACKUP_DIR=str(rt.settings.data_path),
        STAFFROOM_DATA_DIR=str(tmp_path),
        STAFFROOM_KEYS_FILE=str(rt.settings.effective_keys_file),
    )
    assert result.returncode == 0, result.stderr
    # The restore erased HR again, and withdrew the invitation again (the command's
    # runtime has the domains' hooks, as the app's has).
    (invite,) = (await _contents(target))["invite"]
    assert "revoked" in invite and "pending" not in invite


async def test_a_tampered_archive_or_a_wrong_key_fails_closed(rt: Runtime, settings, tmp_path):
    info = await backups.create(rt)
    key = f"backups/{info.id}.srbk"
    original = await rt.archive.get(key)
    assert original is not None
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    await rt.archive.put(key, bytes(flipped))
    with pytest.raises(ArchiveRefused, match="checksum"):
        await backups.verify(rt, info.id)
    # Even with a matching checksum, a changed chunk does not open.
    index = json.loads(await rt.archive.get(f"backups/{info.id}.json") or b"{}")
    import hashlib

    index["sha256"] = hashlib.sha256(bytes(flipped)).hexdigest()
    await rt.archive.put(f"backups/{info.id}.json", json.dumps(index).encode())
    with pytest.raises(ArchiveRefused, match="does not open"):
        await backups.verify(rt, info.id)
    truncated = original[: len(original) // 2]
    index["sha256"] = hashlib.sha256(truncated).hexdigest()
    await rt.archive.put(key, truncated)
    await rt.archive.put(f"backups/{info.id}.json", json.dumps(index).encode())
    with pytest.raises(ArchiveRefused):
        await backups.verify(rt, info.id)
    # The intact archive under another key file: refused, nothing restored.
    await rt.archive.put(key, original)
    index["sha256"] = hashlib.sha256(original).hexdigest()
    await rt.archive.put(f"backups/{info.id}.json", json.dumps(index).encode())
    assert (await backups.verify(rt, info.id))["id"] == info.id
    other = _cli(
        "backup",
        "verify",
        info.id,
        STAFFROOM_KEYS_FILE=str(tmp_path / "other-keys.json"),
        STAFFROOM_BACKUP_DIR=str(rt.settings.data_path),
    )
    assert other.returncode == 2 and "wrong key" in other.stderr
    with pytest.raises(ArchiveRefused):
        await backups.verify(rt, "../../etc/passwd")
    await rt.archive.remove(key)
    with pytest.raises(ArchiveRefused, match="missing"):
        await backups.verify(rt, info.id)


MIB = 1024 * 1024


async def test_a_media_object_deleted_while_the_backup_runs_is_left_out(rt: Runtime, monkeypatch):
    key = f"{uuid.uuid4()}/{uuid.uuid4()}"
    await rt.blobs.write(key, b"\x89PNG stays")
    listed = await rt.blobs.media_keys()
    gone = f"{uuid.uuid4()}/{uuid.uuid4()}"  # listed, then erased before it was copied

    async def listing() -> list[str]:
        return sorted([*listed, gone])

    monkeypatch.setattr(rt.blobs, "media_keys", listing)
    info = await backups.create(rt)
    manifest = await backups.verify(rt, info.id)
    assert f"media/{key}" in manifest["files"] and f"media/{gone}" not in manifest["files"]
    assert info.media == len(listed)


async def test_an_archive_goes_file_to_file_never_whole_through_memory(rt: Runtime):
    # 24 MiB of pictures: the archive is larger than anything the server may hold at once.
    earlier = len(await rt.blobs.media_keys())  # the media folder outlives a test
    for _ in range(4):
        await rt.blobs.write(f"{uuid.uuid4()}/{uuid.uuid4()}", os.urandom(6 * MIB))
    tracemalloc.start()
    try:
        info = await backups.create(rt)
        _, created_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        manifest = await backups.verify(rt, info.id)
        _, verified_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size > 24 * MIB and info.media == earlier + 4
    assert len([n for n in manifest["files"] if n.startswith("media/")]) == earlier + 4
    # A sealed chunk and its plain text (4 MiB each) at a time, and change.
    assert created_peak < 2 * sealing.CHUNK + 2 * MIB, created_peak
    assert verified_peak < 2 * sealing.CHUNK + 2 * MIB, verified_peak


def _at(day: datetime) -> BackupInfo:
    return BackupInfo(
        id=day.isoformat(), created_at=day, engine="sqlite", size=1, media=0, tables=1
    )


def test_pruning_keeps_7_daily_4_weekly_12_monthly():
    start = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    # Two backups a day for 400 days.
    history = [_at(start - timedelta(hours=12 * i)) for i in range(800)]
    keep, drop = plan_prune(history, 7, 4, 12)
    kept_days = sorted({b.created_at.date() for b in keep}, reverse=True)
    assert len(keep) + len(drop) == 800
    # The newest of each of the last 7 days…
    newest_per_day: dict[Any, datetime] = {}
    for b in history:
        day = b.created_at.date()
        newest_per_day[day] = max(newest_per_day.get(day, b.created_at), b.created_at)
    last_7 = sorted(newest_per_day, reverse=True)[:7]
    assert [b.created_at for b in keep[:7]] == [newest_per_day[d] for d in last_7]
    # …of 4 ISO weeks and 12 months: never more than 7 + 4 + 12, and the oldest within a year.
    assert len(keep) <= 23 and len({b.id for b in keep}) == len(keep)
    assert kept_days[-1] >= (start - timedelta(days=366)).date()
    assert plan_prune([], 7, 4, 12) == ([], [])


async def test_prune_deletes_from_the_store(rt: Runtime, settings):
    first = await backups.create(rt)
    second = await backups.create(rt)
    thin = msgspec.structs.replace(
        settings, backup_keep_daily=1, backup_keep_weekly=0, backup_keep_monthly=0
    )
    rt.settings = thin
    assert await backups.prune(rt) == (1, 1)
    remaining = [b.id for b in await backups.list_backups(rt)]
    # The newest is kept (ids made in the same second do not sort by time).
    assert first.created_at < second.created_at and remaining == [second.id]


async def test_backups_go_to_s3_through_boto3(
    rt: Runtime, settings, moto_s3, monkeypatch, tmp_path: Path
):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    boto3.client("s3", region_name="eu-central-1", endpoint_url=moto_s3).create_bucket(
        Bucket="staffroom-backups",
        CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
    )
    s3_client = boto3.client("s3", region_name="eu-central-1", endpoint_url=moto_s3)
    s3_client.create_bucket(
        Bucket="staffroom-media",
        CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
    )
    # Parts of 5 MiB (S3's least): a 7 MiB picture makes the archive go up in two parts.
    monkeypatch.setattr(s3_blobs, "TRANSFER_CHUNK", 5 * MIB)
    s3 = Runtime.build(
        msgspec.structs.replace(
            settings,
            blob_backend="s3",
            s3_bucket="staffroom-media",
            backup_backend="s3",
            backup_bucket="staffroom-backups",
            s3_endpoint_url=moto_s3,
        )
    )
    picture = os.urandom(7 * MIB)
    key = f"{uuid.uuid4()}/{uuid.uuid4()}"
    try:
        await s3.blobs.write(key, picture)
        info = await backups.create(s3)
        listed = s3_client.list_objects_v2(Bucket="staffroom-backups")
        assert {o["Key"] for o in listed["Contents"]} == {
            f"backups/{info.id}.srbk",
            f"backups/{info.id}.json",
        }
        head = s3_client.head_object(Bucket="staffroom-backups", Key=f"backups/{info.id}.srbk")
        assert head["ETag"].strip('"').endswith("-2")  # a multipart upload of two parts
        assert head["ContentLength"] == info.size
        manifest = await backups.verify(s3, info.id)
        assert manifest["id"] == info.id and f"media/{key}" in manifest["files"]
        # Media restore back to S3 from a file.
        copy = tmp_path / "picture"
        await s3.blobs.media_to_file(key, copy)
        await s3.blobs.delete(key)
        await s3.blobs.media_from_file(key, copy)
        assert await s3.blobs.read(key) == picture
        with pytest.raises(ArchiveRefused, match="no backup"):
            await backups.verify(s3, "20260101T000000Z-abcdef")
        s3_client.delete_object(Bucket="staffroom-backups", Key=f"backups/{info.id}.srbk")
        with pytest.raises(ArchiveRefused, match="missing"):
            await backups.verify(s3, info.id)
    finally:
        await s3.close()
        # moto's state dump (other tests read it) trips over a multipart upload's parts.
        httpx.post(f"{moto_s3}/moto-api/reset").raise_for_status()
