"""The web app's API types match the server's OpenAPI document, and English and German
are complete: every key in both, every key the code asks for in each."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from staffroom.webapp.openapi import document

WEB = Path(__file__).resolve().parents[2] / "web"
GENERATE = ("npx", "--no-install", "openapi-typescript")


def test_committed_api_types_match_the_openapi_document(app: Any, tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_bytes(document(app))
    out = tmp_path / "schema.d.ts"
    subprocess.run(
        [*GENERATE, str(spec), "--default-non-nullable", "false", "-o", str(out)],
        cwd=WEB,
        check=True,
        capture_output=True,
    )
    committed = (WEB / "src/api/schema.d.ts").read_text()
    assert out.read_text() == committed, "API types drifted: run `make web-types`"


def _keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, value in tree.items():
        path = f"{prefix}{name}"
        keys |= _keys(value, f"{path}.") if isinstance(value, dict) else {path}
    return keys


def _plain(keys: set[str]) -> set[str]:
    """Keys without i18next's plural suffixes (`_one`, `_other`)."""
    return {re.sub(r"_(one|other)$", "", k) for k in keys}


def test_english_and_german_have_the_same_keys() -> None:
    en = _keys(json.loads((WEB / "src/i18n/en.json").read_text()))
    de = _keys(json.loads((WEB / "src/i18n/de.json").read_text()))
    assert en - de == set(), "missing in German"
    assert de - en == set(), "missing in English"
    empty = [k for k in en if not k]
    assert not empty


def test_every_key_the_code_uses_is_translated() -> None:
    en = _plain(_keys(json.loads((WEB / "src/i18n/en.json").read_text())))
    used: set[str] = set()
    for source in (WEB / "src").rglob("*.tsx"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", source.read_text()))
    assert used, "found no translated strings: the pattern is wrong"
    assert used - en == set()
