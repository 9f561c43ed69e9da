"""The container image installs requirements-runtime.lock: it must hold every runtime
dependency of pyproject.toml, at the very versions requirements.lock (what the tests ran
with) pins. `make lock` writes both; this fails when only one was regenerated."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def _pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    return {m[1].lower().replace("_", "-"): m[2] for m in PIN.finditer(text)}


def test_the_runtime_lock_pins_what_the_tests_ran_with() -> None:
    runtime, full = _pins("requirements-runtime.lock"), _pins("requirements.lock")
    differ = {k: (v, full.get(k)) for k, v in runtime.items() if full.get(k) != v}
    assert not differ, f"requirements-runtime.lock differs from requirements.lock: {differ}"


def test_the_runtime_lock_holds_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower().replace("_", "-")
        for spec in project["dependencies"]
    }
    assert wanted - set(_pins("requirements-runtime.lock")) == set()
