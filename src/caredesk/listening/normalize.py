"""Text normalisation and word-boundary classes shared by rules and posts.

Both a rule's terms and a post's text go through :func:`normalize_text`, so matching is a plain
substring search plus a boundary check. The folding policy:

* NFKC, then ``str.casefold`` (so ``ＡＣＭＥ`` → ``acme``, ``Straße`` → ``strasse``).
* Latin, Greek and Cyrillic diacritics are stripped (``café`` → ``cafe``, ``Ünïcödé`` →
  ``unicode``) **except** letters that are separate letters of an alphabet: Danish/Norwegian/
  Swedish ``å`` (``æ`` and ``ø`` never decompose, so all three stay distinct from ae/o/a),
  Russian ``й``, Ukrainian ``ї``, Belarusian ``ў``.
* Only the generic combining-diacritics blocks are stripped. Devanagari/Telugu matras and
  viramas, and Urdu hamza, are part of the spelling and are kept untouched.
* Arabic-script folding used by Arabic/Urdu search engines: optional vowel marks (harakat
  U+064B–U+0652) and tatweel are removed; Arabic ``ي ى`` fold to Urdu/Persian ``ی`` and Arabic
  ``ك`` to ``ک`` (keyboards mix them).
* Invisible characters (zero-width space/joiners, soft hyphen, BOM) are removed; typographic
  apostrophes/quotes/hyphens become ASCII; runs of whitespace become one space.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Post text longer than this is cut before matching: a defined cost for hostile input
# (a tweet is 280 characters, a long email a few tens of thousands).
MAX_TEXT_CHARS: Final = 200_000

# Separate letters of an alphabet that look like "letter + accent" in Unicode.
_PRESERVE: Final = frozenset("åÅйЙїЇўЎ")

_GENERIC_MARK_RANGES: Final = (
    (0x0300, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
_FOLDED_LETTER_RANGES: Final = (
    (0x00C0, 0x024F),  # Latin-1 supplement, Latin extended A/B
    (0x1E00, 0x1EFF),  # Latin extended additional (Vietnamese)
    (0x0370, 0x03FF),  # Greek
    (0x1F00, 0x1FFF),  # Greek extended
    (0x0400, 0x04FF),  # Cyrillic
)


def _is_generic_mark(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _GENERIC_MARK_RANGES)


def _build_fold_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for lo, hi in _FOLDED_LETTER_RANGES:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if ch in _PRESERVE:
                continue
            decomposed = unicodedata.normalize("NFD", ch)
            stripped = "".join(c for c in decomposed if not _is_generic_mark(c))
            stripped = unicodedata.normalize("NFC", stripped)
            if stripped and stripped != ch:
                table[ch] = stripped.casefold()
    for lo, hi in _GENERIC_MARK_RANGES:
        for cp in range(lo, hi + 1):
            table[chr(cp)] = ""
    for cp in range(0x064B, 0x0653):  # Arabic harakat: optional vowel signs
        table[chr(cp)] = ""
    table["\u0640"] = ""  # tatweel (kashida), typographic stretching
    table["\u064a"] = "\u06cc"  # Arabic yeh -> Farsi/Urdu yeh
    table["\u0649"] = "\u06cc"  # alef maksura -> yeh
    table["\u0643"] = "\u06a9"  # Arabic kaf -> keheh
    for invisible in "\u200b\u200c\u200d\u2060\ufeff\u00ad":
        table[invisible] = ""
    for apostrophe in "\u2018\u2019\u201b\u02bc\u2032":
        table[apostrophe] = "'"
    for quote in "\u201c\u201d\u201e\u201f\u00ab\u00bb":
        table[quote] = '"'
    for dash in "\u2010\u2011":
        table[dash] = "-"
    return table


_FOLD: Final = _build_fold_table()
_FOLD_RE: Final = re.compile("[" + "".join(re.escape(c) for c in sorted(_FOLD)) + "]")
_FOLD_GET: Final = _FOLD.__getitem__


def _fold_match(m: re.Match[str]) -> str:
    return _FOLD_GET(m.group())


def normalize_text(text: str) -> str:
    """Return the matching form of ``text``. Never raises for any ``str``."""
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
    if text.isascii():
        out = text.lower()
    else:
        out = unicodedata.normalize("NFKC", text).casefold()
        if _FOLD_RE.search(out) is not None:
            out = _FOLD_RE.sub(_fold_match, out)
    # Tabs, newlines and other whitespace are not printable; one C-speed scan finds them.
    if "  " in out or not out.isprintable():
        out = " ".join(out.split())
    return out


# --- word-boundary classes --------------------------------------------------------------------
# 0: not part of a word (space, punctuation, symbols, emoji)
# 1: word character of a script written with spaces: a term needs a boundary on both sides
# 2: word character of a script written without spaces (CJK, Thai, Lao, Khmer, Myanmar,
#    Tibetan) or with particles glued to nouns (Hangul): no boundary can be required
# 3: word character of an agglutinative Dravidian script (Telugu, Tamil, Kannada, Malayalam):
#    case suffixes attach to names, so a term needs a boundary on its left only
NON_WORD: Final = 0
WORD: Final = 1
NO_SPACE: Final = 2
SUFFIXING: Final = 3

_NO_SPACE_RANGES: Final = (
    (0x0E00, 0x0EFF),
    (0x0F00, 0x0FFF),
    (0x1000, 0x109F),
    (0x1100, 0x11FF),
    (0x1780, 0x17FF),
    (0x2E80, 0x2FDF),
    (0x3040, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFFDC),
    (0x20000, 0x3FFFF),
)
_SUFFIXING_RANGES: Final = ((0x0B80, 0x0D7F),)


def _classify(ch: str) -> int:
    if not (ch.isalnum() or ch == "_" or unicodedata.category(ch)[0] == "M"):
        return NON_WORD
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in _NO_SPACE_RANGES):
        return NO_SPACE
    if any(lo <= cp <= hi for lo, hi in _SUFFIXING_RANGES):
        return SUFFIXING
    return WORD


# Filled lazily; bounded by the number of distinct characters ever seen (at most 1.1M).
CHAR_CLASS: Final[dict[str, int]] = {chr(cp): _classify(chr(cp)) for cp in range(0x2000)}


def char_class(ch: str) -> int:
    """Boundary class of one character (see the constants above)."""
    cls = CHAR_CLASS.get(ch)
    if cls is None:
        cls = CHAR_CLASS[ch] = _classify(ch)
    return cls
