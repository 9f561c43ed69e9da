"""GDPR access: everything about the caller as a ZIP of JSON files, their media and a
README explaining them (Art. 15 and 20)."""

from __future__ import annotations

import asyncio
import json
import tempfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from staffroom.accounts.service import members
from staffroom.core import audit, clock, personal_data
from staffroom.core.context import Principal, RequestContext
from staffroom.core.limits import GDPR_EXPORT
from staffroom.core.personal_data import Listing
from staffroom.core.runtime import Runtime

# Building an export is heavy: a few a day is plenty for a person.
CHUNK = 1024 * 1024  # read out a MiB at a time

README = """Your data in Staffroom
======================

Exported {when} for {who}.

{files}
Each file is a JSON list; rows carry their own dates and come in no particular order.
Passwords, second factors and tokens are stored only as one-way digests or sealed
secrets and are never exported. Ask your administrator about corrections or erasure.
"""
MISSING = """
{count} of the files listed in media.json could not be found in storage and are not
included; your administrator can look into it.
"""


def _default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


async def _write_list(
    archive: zipfile.ZipFile, listing: Listing, attachments: list[tuple[str, str]]
) -> None:
    """One file of the archive: a JSON list written a batch at a time (the stored files
    its rows stand for added to `attachments`)."""
    with archive.open(listing.name, "w") as member:
        written = 0
        await asyncio.to_thread(member.write, b"[")
        async for rows in listing.rows:
            if listing.attachment is not None:
                attachments += [a for a in map(listing.attachment, rows) if a is not None]
            text = "".join(
                ("," if written + i else "")
                + "\n"
                + json.dumps(row, indent=2, default=_default, ensure_ascii=False)
                for i, row in enumerate(rows)
            )
            await asyncio.to_thread(member.write, text.encode())
            written += len(rows)
        await asyncio.to_thread(member.write, b"\n]\n")


@dataclass
class Export:
    """A finished export: a ZIP in an unnamed temporary file (gone from the disk once it
    is closed, however the download ends), read out in chunks."""

    file: BinaryIO
    size: int

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(self.file.read, CHUNK):
                yield chunk
        finally:
            self.file.close()


async def build(rt: Runtime, principal: Principal, ctx: RequestContext) -> Export:
    """The ZIP of the caller's data (limited per person; the export is audited). Built on
    disk, media copied file to file: a person's uploads can outgrow the server's memory."""
    await rt.limiter.hit(*GDPR_EXPORT.at(rt.settings, principal.user_id))
    out = tempfile.TemporaryFile(prefix="staffroom-export-")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="staffroom-export-") as tmp,
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            listings: list[Listing] = []
            # Each domain holding personal data adds its files (core/personal_data.py).
            for holder in personal_data.holders(rt):
                listings += await holder.export_for(rt, principal.org_id, principal.user_id)
            attachments: list[tuple[str, str]] = []
            for listing in listings:
                await _write_list(archive, listing, attachments)
            stored, missing = Path(tmp) / "media.bin", 0
            for name, key in attachments:
                if not await rt.blobs.media_to_file(key, stored):
                    missing += 1  # lost from storage: the export goes on without it
                    continue
                # Pictures and videos are compressed already: stored as they are.
                await asyncio.to_thread(archive.write, stored, name, zipfile.ZIP_STORED)
            who = (await members.display_names([principal.user_id])).get(principal.user_id, "")
            readme = README.format(
                when=clock.utcnow().isoformat(timespec="seconds"),
                who=who,
                files="".join(f"{f.name:<22} {f.about}\n" for f in listings),
            )
            if missing:
                readme += MISSING.format(count=missing)
            archive.writestr("README.txt", readme)
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    await audit.by(principal, ctx, "gdpr.exported", ("user", principal.user_id), {"bytes": size})
    return Export(file=out, size=size)
