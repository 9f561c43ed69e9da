"""The archive store (backups, erasure ledger) lives outside the database: empty it too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
async def empty_archive(rt: Any) -> AsyncIterator[None]:
    for prefix in ("backups/", "ledger/"):
        for key in await rt.archive.keys(prefix):
            await rt.archive.remove(key)
    yield
