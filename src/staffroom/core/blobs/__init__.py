"""Blob storage for media: a local folder (embedded) or S3 (boto3), the one adapter.

Clients upload straight to storage: a presigned S3 POST whose policy pins the key, the
content type and the size range, or (local) a PUT to the API itself. Downloads are
short-lived presigned URLs, or a checked API route locally. Keys are server-made
(org/uuid), never file names, so no name ever becomes a path.
"""

from __future__ import annotations

from pathlib import Path

from staffroom.core.blobs.base import TTL_SECONDS, BlobInfo, BlobStore, UploadTarget, attachment
from staffroom.core.blobs.local import LocalBlobs
from staffroom.core.blobs.s3 import S3Blobs
from staffroom.settings import Settings

__all__ = [
    "TTL_SECONDS",
    "BlobInfo",
    "BlobStore",
    "LocalBlobs",
    "S3Blobs",
    "UploadTarget",
    "attachment",
    "make_archive",
    "make_blobs",
]


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
