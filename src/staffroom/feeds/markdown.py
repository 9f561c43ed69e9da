"""Post bodies: Markdown rendered once, on write, to HTML that nh3 has sanitised.

Raw HTML in the Markdown is escaped by the renderer; nh3 then keeps only an allow-list
of tags, attributes and URL schemes, so script, event handlers, javascript: and data:
URLs, SVG and broken markup all come out harmless.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

from staffroom.core.errors import Invalid

MAX_DEPTH = 16
_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "img",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_SCHEMES = {"http", "https", "mailto"}
# Nesting past the limit is not rendered deeper by markdown-it; the limit is what lets a
# "> > > …" bomb be refused instead of silently flattened.
_md = MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_DEPTH + 4}).enable("table")


def render(markdown: str) -> str:
    """Sanitised HTML for a post body; too deeply nested Markdown is a 422."""
    tokens = _md.parse(markdown)
    if any(token.level > MAX_DEPTH for token in tokens):
        raise Invalid("markdown_too_deep", f"Nest quotes and lists at most {MAX_DEPTH} deep.")
    html = _md.renderer.render(tokens, _md.options, {})
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()
