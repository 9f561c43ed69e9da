"""Domains read each other through services: which modules outside accounts still query
accounts' tables (issue 21, item 2). The list only shrinks; a new module asks accounts'
services (`accounts/service/people.py`, `lookups.py`, `members.py`) instead."""

from __future__ import annotations

import re
from pathlib import Path

import staffroom

_IMPORT = re.compile(r"^\s*(?:from|import) staffroom\.accounts\.tables\b", re.M)
# Still to move onto accounts' services (docs/architecture.md, Known gaps). Each domain's
# tables.py names accounts' tables for foreign keys, by design.
_LEFT = {
    "cli/ops.py",
    "endpoints/health.py",
    "oauth/service/store.py",
    "sso/service/idps.py",
    "sso/service/provisioning.py",
}


def test_feeds_chat_and_compliance_read_accounts_through_its_services() -> None:
    root = Path(staffroom.__file__).parent
    found = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.parts[len(root.parts)] != "accounts"
        and "piccolo_migrations" not in path.parts
        and path.name != "tables.py"
        and _IMPORT.search(path.read_text())
    }
    assert found == _LEFT
