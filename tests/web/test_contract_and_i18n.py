"""The web app's API types match the server's OpenAPI document, and English and German
are complete: every key in both, every key the code asks for in each."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

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


# The app's words (`translation`) and the admin console's own namespace, loaded with its
# chunks: each checked on its own files and the code that uses it.
APP = (WEB / "src/i18n", "", WEB / "src", WEB / "src/admin")
ADMIN = (WEB / "src/admin/i18n", "admin.", WEB / "src/admin", None)
NAMESPACES = pytest.mark.parametrize("namespace", [APP, ADMIN], ids=["app", "admin"])
Namespace = tuple[Path, str, Path, Path | None]


def _load(namespace: Namespace, language: str) -> set[str]:
    folder, prefix = namespace[0], namespace[1]
    return _keys(json.loads((folder / f"{prefix}{language}.json").read_text()))


@NAMESPACES
def test_english_and_german_have_the_same_keys(namespace: Namespace) -> None:
    en, de = _load(namespace, "en"), _load(namespace, "de")
    assert en - de == set(), "missing in German"
    assert de - en == set(), "missing in English"
    empty = [k for k in en if not k]
    assert not empty


@NAMESPACES
def test_every_key_the_code_uses_is_translated(namespace: Namespace) -> None:
    en = _plain(_load(namespace, "en"))
    code, excluded = namespace[2], namespace[3]
    used: set[str] = set()
    for source in code.rglob("*.tsx"):
        if excluded is not None and source.is_relative_to(excluded):
            continue
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""", source.read_text()))
    assert used, "found no translated strings: the pattern is wrong"
    assert used - en == set()
