"""Plain-text and HTML templates in English and German."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

LANGUAGES = ("en", "de")
_DIR = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, lang: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Render (subject, text, html); unknown languages fall back to English."""
    lang = lang if lang in LANGUAGES else "en"
    env = _env()
    text = env.get_template(f"{lang}/{template}.txt").render(context)
    subject, _, body = text.partition("\n")
    html = env.get_template(f"{lang}/{template}.html").render(context)
    return subject.removeprefix("Subject: ").strip(), body.lstrip("\n"), html
