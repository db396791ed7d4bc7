"""X's weighted text length, following twitter-text's v3 configuration.

twitter-text (config/v3.json): the text is NFC-normalised; each code point weighs 200 at scale
100 (i.e. counts 2) unless it falls in one of these ranges, which weigh 100 (count 1):

    U+0000-U+10FF (Latin ... Georgian), U+2000-U+200D (spaces), U+2010-U+201F (dashes, quotes),
    U+2032-U+2037 (primes)

so CJK, emoji, Devanagari, Telugu... count 2. Every URL counts as 23 (``transformedURLLength``)
whatever its length, and with ``emojiParsingEnabled`` a whole emoji sequence (skin tones, ZWJ
families, flags, keycaps) counts as one default-weight character, i.e. 2. The limit is 280.

URL recognition is a simplified version of twitter-text's extractor: ``http(s)://`` URLs and bare
domains with a common TLD (``example.com/path``). The emoji matcher covers the Unicode emoji
blocks and sequence joiners rather than the full emoji-test.txt list.
"""

from __future__ import annotations

import re
import unicodedata

X_MAX_WEIGHTED_LENGTH = 280
_URL_WEIGHT = 23
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))

_TLDS = (
    "com|net|org|edu|gov|mil|int|info|biz|io|co|ai|app|dev|me|tv|ly|gl|gg|us|uk|de|dk|fr|es|it|"
    "nl|se|no|fi|pl|pt|ru|in|pk|jp|cn|kr|au|ca|br|mx|eu|ch|at|be|ie|nz|za|shop|store|online|site|"
    "xyz|news|blog|help|support"
)
_URL_RE = re.compile(
    r"(?<![\w@.\-/])"
    r"(?:https?://[^\s<>\"]+"
    r"|(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")\b(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_TRAILING_PUNCT = ".,;:!?'\")]}"

# One emoji "picture" code point, then any modifiers, and ZWJ-joined continuations.
_PICT = (
    "\U0001f000-\U0001faff\u2600-\u27bf\u2300-\u23ff\u2b00-\u2bff\u2190-\u21ff"
    "\u3030\u303d\u3297\u3299\u00a9\u00ae\u203c\u2049\u2122\u2139"
)
_MODS = "\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\u20e3\U000e0020-\U000e007f"
_EMOJI_RE = re.compile(
    "(?:[\U0001f1e6-\U0001f1ff]{2}"  # flag: a pair of regional indicators
    "|[0-9#*]\ufe0f?\u20e3"  # keycap
    f"|[{_PICT}][{_MODS}]*(?:\u200d[{_PICT}][{_MODS}]*)*)"
)
# Light-range code points in the picture class count as emoji only when presented as emoji.
_LIGHT_PICT = {"\u00a9", "\u00ae"}
_KEYCAP_START = frozenset("0123456789#*")
_KEYCAP_NEXT = frozenset("\ufe0f\u20e3")


def _char_weight(ch: str) -> int:
    cp = ord(ch)
    for start, end in _LIGHT_RANGES:
        if start <= cp <= end:
            return 1
    return 2


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in _URL_RE.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _TRAILING_PUNCT:
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def x_weighted_length(text: str) -> int:
    """Weighted length as X counts it (limit :data:`X_MAX_WEIGHTED_LENGTH`); never raises."""
    if not text or not text.strip():
        return 0
    text = unicodedata.normalize("NFC", text)
    urls = dict(_url_spans(text))
    total = 0
    i = 0
    n = len(text)
    while i < n:
        url_end = urls.get(i)
        if url_end is not None:
            total += _URL_WEIGHT
            i = url_end
            continue
        ch = text[i]
        # Fast path: plain ASCII that cannot start a keycap emoji weighs 1.
        if ch < "\u00a9" and (ch not in _KEYCAP_START or text[i + 1 : i + 2] not in _KEYCAP_NEXT):
            total += 1
            i += 1
            continue
        match = _EMOJI_RE.match(text, i)
        if match and match.group() not in _LIGHT_PICT:
            total += 2
            i = match.end()
            continue
        total += _char_weight(ch)
        i += 1
    return total
