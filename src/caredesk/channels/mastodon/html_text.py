"""Untrusted HTML (Mastodon ``content``, text/html email parts) to plain text.

Uses the standard library's tokenising parser only: nothing is fetched or executed, markup is
dropped, entities are decoded once, and the contents of script/style/head/template are discarded
(they are code, not words the customer wrote). A ``&lt;script&gt;`` the customer *typed* comes
back as the literal text ``<script>``. Never raises; input is bounded.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_HTML_CHARS = 2_000_000
_SKIP = {"script", "style", "head", "template", "noscript", "title"}
_BLOCK = {
    "p", "div", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "section", "article", "header", "footer", "dd", "dt",
}  # fmt: skip


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(?:\n\s*)*")


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment, paragraphs separated by a blank line."""
    if not html:
        return ""
    collector = _TextCollector()
    try:
        collector.feed(html[:MAX_HTML_CHARS])
        collector.close()
    except Exception:  # the stdlib parser is lenient; belt and braces for untrusted input
        return _SPACES.sub(" ", re.sub(r"<[^>]*>", " ", html[:MAX_HTML_CHARS])).strip()
    text = "".join(collector.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
