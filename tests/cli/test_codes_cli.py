"""`staffroom codes create --out`: the codes exist only in that file, so it is a new file
whose folder is checked before the batch exists, and a batch that could not be written is
revoked (no code shown nowhere stays valid)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from staffroom.onboarding.tables import AccessCode, AccessCodeBatch
from tests.cli.test_cli import staffroom
from tests.support.world import World


def _one_line_no_traceback(result: subprocess.CompletedProcess[str]) -> str:
    """The message: the last line printed (after any progress bar), never folded."""
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.strip()][-1]


async def test_an_existing_file_is_refused_before_any_code_is_created(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "codes.pdf"
    out.write_text("last week's codes")
    args = ("codes", "create", "--org", "acme", "--label", "x", "--count", "3", "--out", str(out))
    result = staffroom(*args)
    assert result.returncode == 2
    assert "already exists" in _one_line_no_traceback(result)
    assert out.read_text() == "last week's codes"
    assert await AccessCodeBatch.count() == 0 and await AccessCode.count() == 0


async def test_a_missing_folder_is_refused_before_any_code_is_created(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "no-such-folder" / "codes.csv"
    args = ("codes", "create", "--org", "acme", "--label", "x", "--count", "3")
    result = staffroom(*args, "--format", "csv", "--out", str(out))
    assert result.returncode == 2
    assert f"the folder {out.parent} does not exist" in _one_line_no_traceback(result)
    assert not out.parent.exists()
    assert await AccessCodeBatch.count() == 0 and await AccessCode.count() == 0


async def test_a_batch_that_could_not_be_written_is_revoked(world: World, tmp_path: Path) -> None:
    """The file appears (another program, a second run) while the cards are rendered: the
    codes are not written over it, and the batch they belong to no longer works."""
    out = tmp_path / "cards.pdf"
    args = ["codes", "create", "--org", "acme", "--label", "Hall 3", "--count", "300"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "staffroom", *args, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        for _ in range(600):  # the batch is stored, then its 300 cards take seconds
            if await AccessCodeBatch.count() or proc.poll() is not None:
                break
            await asyncio.sleep(0.02)
        out.write_text("someone else's file")
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert result.returncode == 1, stderr
    line = _one_line_no_traceback(result)
    batch = await AccessCodeBatch.select().first()
    assert f"could not write {out}" in line and f"batch {batch['id']} was revoked" in line
    assert out.read_text() == "someone else's file"
    assert batch["revoked_at"] is not None
    assert await AccessCode.count().where(AccessCode.revoked_at.is_null()) == 0
