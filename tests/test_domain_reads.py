"""Domains read each other through services (issue 21, item 2): no module outside accounts
queries accounts' tables. A module that needs people, groups or an org's settings asks
accounts' services (`accounts/service/people.py`, `lookups.py`, `members.py`, and for what
single sign-on writes, `sso_managed.py`) instead."""

from __future__ import annotations

import re
from pathlib import Path

import staffroom

_IMPORT = re.compile(
    r"^\s*(?:(?:from|import) staffroom\.accounts\.tables\b"
    r"|from staffroom\.accounts import [^\n]*\btables\b)",
    re.M,
)


def test_only_accounts_imports_its_tables() -> None:
    root = Path(staffroom.__file__).parent
    found = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.parts[len(root.parts)] != "accounts"
        and "piccolo_migrations" not in path.parts
        # Each domain's tables.py names accounts' tables for its foreign keys, by design.
        and path.name != "tables.py"
        and _IMPORT.search(path.read_text())
    }
    assert found == set()
