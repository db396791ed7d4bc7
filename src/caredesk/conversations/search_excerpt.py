"""The part of a matching message a search result shows, with the searched words picked out.

An excerpt is plain text cut into parts, each flagged as a hit or not: the template escapes
every part and wraps hits in ``<mark>``, so untrusted post text can never become markup, and
the API joins the parts back into plain text. Words are found as the search finds them (see
``search``): whole words, or the start of a longer word for query words of 3+ characters,
case- and Latin-accent-insensitively; the whole word is marked ("rout" marks "router").
A small pattern per query (the words only, compiled in ~50 µs), matched in C: a page of 50
excerpts costs a few tenths of a millisecond.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from caredesk.conversations.search import ACCENTS, fold_accents, search_words

# Characters shown before the first hit: the inbox row shows about 90 characters of an
# excerpt at 1280 px (two lines), so the hit must come early; a little context says what
# the sentence is about.
LEAD_CHARS = 24
EXCERPT_CHARS = 200
ELLIPSIS = "…"


@dataclass(frozen=True)
class Excerpt:
    message_id: int
    parts: tuple[tuple[str, bool], ...]  # (text, is a hit), in order
    direction: str = "in"  # "out": our own reply matched, not the customer's words

    @property
    def text(self) -> str:
        return "".join(part for part, _ in self.parts)


@cache
def _word_tail() -> re.Pattern[str]:
    """The rest of a word: letters, digits and marks (``\\w`` leaves out marks, which would
    cut Hindi or Telugu words apart). Built once: its class of marks is large, and compiling
    it into every query's pattern cost 1.5 ms a search."""
    marks: list[str] = []
    start: int | None = None
    for cp in range(0x10000):  # the scripts agents write in are all in the BMP
        is_mark = unicodedata.category(chr(cp))[0] == "M"
        if is_mark and start is None:
            start = cp
        elif not is_mark and start is not None:
            marks.append(f"\\u{start:04x}-\\u{cp - 1:04x}")
            start = None
    return re.compile("(?:[^\\W_]|[" + "".join(marks) + "])*")


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M"


def _letter(ch: str) -> str:
    variants = ACCENTS.get(ch)
    if variants is None:
        return re.escape(ch)
    # The letter, any accented form of it, or it followed by combining accents (NFD text).
    return "(?:[" + ch + "".join(variants) + "]|" + ch + "[\u0300-\u036f]+)"


@lru_cache(maxsize=512)  # bounded: every distinct search builds one
def _hits_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Group 1: a word of 3+ characters (it may start a longer word); group 2: a shorter
    word, which must stand alone ("a" does not mark "app"). Marks around a hit are checked
    in ``_hits``."""
    if not words:
        return None
    folded = sorted({fold_accents(x) for x in words}, key=len, reverse=True)
    longer = "|".join("".join(map(_letter, w)) for w in folded if len(w) >= 3) or "(?!)"
    short = "|".join("".join(map(_letter, w)) for w in folded if len(w) < 3) or "(?!)"
    return re.compile(f"(?<![^\\W_])(?:({longer})|({short})(?![^\\W_]))", re.IGNORECASE)


def _hits(pattern: re.Pattern[str], text: str, begin: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each hit in ``text[begin:end]``, the whole word for a longer one."""
    tail = _word_tail()
    at = begin
    while (m := pattern.search(text, at, end)) is not None:
        start, stop = m.span()
        if start > 0 and _is_mark(text[start - 1]):  # inside a word after all
            at = start + 1
            continue
        if m.group(1) is not None:
            rest = tail.match(text, stop, end)
            stop = rest.end() if rest is not None else stop
        elif stop < end and _is_mark(text[stop]):  # a short word that goes on
            at = start + 1
            continue
        yield start, stop
        at = max(stop, start + 1)


def _start(text: str, hit: int) -> int:
    """Where the excerpt starts: a word boundary up to ``LEAD_CHARS`` before the hit."""
    if hit <= LEAD_CHARS:
        return 0
    spaces = [at for at in (text.find(c, hit - LEAD_CHARS, hit) for c in " \n") if at >= 0]
    return min(spaces) + 1 if spaces else hit


def excerpt(message_id: int, text: str, query: str, direction: str = "in") -> Excerpt:
    """About ``EXCERPT_CHARS`` of ``text`` from shortly before its first hit of ``query``,
    with ellipses where it was cut. A text without hits gives its start, unmarked."""
    pattern = _hits_pattern(tuple(search_words(query)))
    first = next(_hits(pattern, text, 0, len(text)), None) if pattern is not None else None
    begin = 0 if first is None else _start(text, first[0])
    end = min(len(text), begin + EXCERPT_CHARS)
    if end < len(text):
        space = max(text.rfind(c, begin, end) for c in " \n")
        end = space if space > begin + EXCERPT_CHARS // 2 else end
    parts: list[tuple[str, bool]] = [(ELLIPSIS, False)] if begin > 0 else []
    at = begin
    if pattern is not None:
        for start, stop in _hits(pattern, text, begin, end):
            if start > at:
                parts.append((text[at:start], False))
            parts.append((text[start:stop], True))
            at = stop
    if at < end:
        parts.append((text[at:end], False))
    if end < len(text):
        parts.append((ELLIPSIS, False))
    return Excerpt(message_id, tuple(parts), direction)
