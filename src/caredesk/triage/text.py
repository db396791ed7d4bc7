"""Text clean-up and hashed features shared by every triage model.

The training script (scripts/train_triage.py) calls the very same functions, so a feature
seen at training time hashes to the same key at run time. Hashes are CRC-32 of UTF-8, which
(unlike ``hash()``) is stable across processes and Python versions.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from typing import TypeVar

# Posts longer than this are cut before any work: a 100 kB paste must not cost more than
# a long tweet, and the start of a post carries its meaning.
MAX_CHARS = 2_000

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w{1,30}")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
# Letters and digits plus the combining marks of Indic and Arabic scripts: Python's \w
# alone would split "नहीं" or "రాలేదు" at every vowel sign.
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
    "\u06d6-\u06ed\u0900-\u0dff\u0e31-\u0e3a\u0e47-\u0e4e\u200c\u200d"
)
_WORD = re.compile(rf"(?:[^\W_]|[{_MARKS}])+(?:['’](?:[^\W_]|[{_MARKS}])+)*")
_TOKEN = re.compile(
    rf"(?:[^\W_]|[{_MARKS}])+(?:['’](?:[^\W_]|[{_MARKS}])+)*"
    r"|[!?]+"
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B50\u2764]"
)
_REPEAT = re.compile(r"(.)\1{2,}")
_DIGITS = re.compile(r"\d+")

NEGATIONS = frozenset(
    {
        "not", "no", "never", "nothing", "nobody", "cannot", "can't", "cant", "don't", "dont",
        "doesn't", "doesnt", "didn't", "didnt", "isn't", "isnt", "wasn't", "wasnt", "won't",
        "wont", "aren't", "arent", "haven't", "havent", "hasn't", "hasnt", "couldn't",
        "couldnt", "wouldn't", "wouldnt", "ikke", "aldrig", "intet", "ingen", "nahi", "nahin",
        "nhi", "nai", "mat", "नहीं", "नही", "मत", "نہیں", "نہ", "مت", "లేదు", "కాదు",
    }
)  # fmt: skip


def decode(text: str | bytes | None) -> tuple[str, bool]:
    """Return (text, had_invalid_bytes). Never raises: bad bytes become U+FFFD."""
    if text is None:
        return "", False
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            return raw.decode("utf-8", errors="replace"), True
    if not isinstance(text, str):
        return str(text), False
    # Lone surrogates (from json "\ud800") cannot be encoded later; replace them now.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="replace").decode("utf-8"), True
    return text, False


@dataclass(frozen=True, slots=True)
class Prepared:
    """A post cleaned once and reused by every stage."""

    raw_len: int
    truncated: bool
    invalid_bytes: bool
    text: str  # NFC, cut to MAX_CHARS, URLs/mentions/e-mails replaced by placeholders
    lower: str
    tokens: tuple[str, ...]  # lower-cased tokens incl. emoji and !/?, placeholders dropped
    words: tuple[str, ...]  # tokens that contain a letter
    n_urls: int
    n_mentions: int
    # NFC, cut to MAX_CHARS, links and mentions kept: the sentiment refiner was fine-tuned
    # on whole tweets ("@united thanks for nothing") and reads them better that way.
    original: str


def prepare(text: str | bytes | None) -> Prepared:
    s, invalid = decode(text)
    raw_len = len(s)
    truncated = raw_len > MAX_CHARS
    if truncated:
        s = s[:MAX_CHARS]
    s = unicodedata.normalize("NFC", s)
    original = s
    s, n_urls = _URL.subn(" ", s)
    s = _EMAIL.sub(" ", s)
    s, n_mentions = _MENTION.subn(" ", s)
    lower = s.casefold()
    tokens = tuple(_TOKEN.findall(lower))
    # Most posts have no "sooo": then skip a regex call per token. Searched in the joined
    # tokens, not ``lower``: "..." and runs of spaces there would say yes for nothing (a run
    # cannot cross the single spaces, so the answer is the same as token by token).
    if _REPEAT.search(" ".join(tokens)):
        tokens = tuple(_REPEAT.sub(r"\1\1", t) for t in tokens)
    words = tuple(t for t in tokens if any(c.isalpha() for c in t))
    return Prepared(
        raw_len, truncated, invalid, s, lower, tokens, words, n_urls, n_mentions, original
    )


def has_digits(p: Prepared) -> bool:
    """False when no token can have a digit (tokens are cut from ``lower``), so the
    per-token digit folding can be skipped; True may also mean a digit outside the tokens."""
    return _DIGITS.search(p.lower) is not None


def _h(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


_X_URL, _X_MENTIONS, _X_NOWORDS = _h("x:url"), _h("x:mentions"), _h("x:nowords")


# Longer tokens are hashed every time instead of memoised: they are rare, and a post of
# one huge "word" must not grow the memos by kilobytes per entry.
MEMO_MAX_LEN = 40

_T = TypeVar("_T")


def remember(memo: dict[str, _T], key: str, value: _T, limit: int) -> _T:
    """Keep ``value`` in a per-process memo unless ``key`` is too long to be worth it. A full
    memo is emptied rather than trimmed: bounded memory without eviction bookkeeping."""
    if len(key) <= MEMO_MAX_LEN:
        if len(memo) >= limit:
            memo.clear()
        memo[key] = value
    return value


# Hashes of one token's word-level features ("w:", "n:" and "p:"), memoised like the
# letter 3-grams below: words repeat across posts, and hashing was most of feature time.
# At the limit the memo holds about 18 MB.
_token_cache: dict[str, tuple[int, int, int]] = {}
_TOKEN_CACHE_MAX = 100_000


def _token_hashes(t: str) -> tuple[int, int, int]:
    got = _token_cache.get(t)
    if got is None:
        got = (_h("w:" + t), _h("n:" + t), _h("p:" + t[:5]) if len(t) > 5 else -1)
        remember(_token_cache, t, got, _TOKEN_CACHE_MAX)
    return got


# Letter 3-gram hashes per token, memoised: words repeat across posts (Zipf), and hashing
# every 3-gram of every word was the largest cost of a triage. Bounded; cleared when full.
_char_cache: dict[str, tuple[int, ...]] = {}
_CHAR_CACHE_MAX = 200_000


def _char_hashes(t: str) -> tuple[int, ...]:
    got = _char_cache.get(t)
    if got is None:
        padded = " " + t + " "
        got = tuple(_h("c:" + padded[i : i + 3]) for i in range(len(padded) - 2))
        remember(_char_cache, t, got, _CHAR_CACHE_MAX)
    return got


def word_groups(p: Prepared) -> tuple[list[int], list[int]]:
    """Hashed features for the linear models, split into (word-level, char-level) groups so
    heads can pick what they use.

    Word level, per token (digits folded to 0): the word ("w:"), the word marked as negated
    ("n:") when it follows a negation before the next punctuation, so "not good" and "good"
    pull in different directions even without the bigram; its 5-letter prefix ("p:") when
    longer; the bigram with the token before ("b:"); then the closing bigram and flags for
    URLs, several mentions and no words ("x:"). Char level: letter 3-grams of tokens longer
    than two characters ("c:")."""
    word_level: list[int] = []
    char_level: list[int] = []
    prev = "<s>"
    negate = False
    digits = has_digits(p)
    for tok in p.tokens:
        t = _DIGITS.sub("0", tok) if digits else tok
        if t[0] in "!?":
            word_level.append(_token_hashes(t[:2])[0])
            negate = False
            prev = t[:2]
            continue
        h_word, h_negated, h_prefix = _token_hashes(t)
        word_level.append(h_word)
        if negate and tok not in NEGATIONS:
            word_level.append(h_negated)
        if h_prefix >= 0:
            word_level.append(h_prefix)
        word_level.append(_h("b:" + prev + " " + t))
        if len(t) > 2:
            char_level.extend(_char_hashes(t))
        if tok in NEGATIONS:
            negate = True
        prev = t
    word_level.append(_h("b:" + prev + " </s>"))
    if p.n_urls:
        word_level.append(_X_URL)
    if p.n_mentions > 1:
        word_level.append(_X_MENTIONS)
    if not p.words:
        word_level.append(_X_NOWORDS)
    return word_level, char_level


# Emoticons, looked for in the cleaned text (URLs are gone, so "http://" cannot match).
_EMOTICON_POS = re.compile(r"(?:(?<!\w)[:;=]-?[)\]dDpP](?!\w)|\(:|<3)")
_EMOTICON_NEG = re.compile(r"(?:(?<!\w)[:;=]'?-?[(\[/\\|](?!\w)|(?<!\w)D:|\):)")
# Sign of a lexicon word after a negation is flipped and damped, as VADER does (N_SCALAR).
_NEGATED_SCALE = -0.74


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Polarity of words and emoji for the sentiment head's cue features.

    ``valence`` is on VADER's -4..+4 scale; ``anger`` marks emoji of anger or disgust.
    Shipped inside sentiment.npz (words from the MIT-licensed VADER lexicon, emoji
    hand-written), so run time needs no other file."""

    valence: dict[str, float]
    emoji: frozenset[str]
    anger: frozenset[str]
    # Word -> cluster id, learnt without labels from customer-care tweets (PPMI + SVD +
    # k-means at build time): "delayed" and "stuck" share a cluster, so a word seen in few
    # labelled posts still borrows the weight its cluster learnt.
    clusters: dict[str, int] = field(default_factory=dict)

    def polarity(self, p: Prepared) -> float:
        """Sum of the valences in a post (negation-aware, emoticons count +-2); used where
        a post has no words and the model has too little to go on."""
        emoticons = 2.0 * (len(_EMOTICON_POS.findall(p.text)) - len(_EMOTICON_NEG.findall(p.text)))
        return sum(v for _, v in self._scored(p)) + emoticons

    def _scored(self, p: Prepared) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        negate = False
        for tok in p.tokens:
            if tok[0] in "!?":
                negate = False
                continue
            v = self.valence.get(tok)
            if v is not None:
                out.append((tok, _NEGATED_SCALE * v if negate and tok not in self.emoji else v))
            if tok in NEGATIONS:
                negate = True
        return out


def cue_strings(p: Prepared, lexicon: Lexicon) -> list[str]:
    """Dense sentiment cues as features: a bucket per lexicon word (sign and strength,
    flipped in a negation's scope), emoji polarity and anger, and emoticons. They let the
    linear head generalise from words it never saw in training ("dreadful") and from emoji."""
    feats: list[str] = []
    for tok, v in lexicon._scored(p):
        if tok in lexicon.emoji:
            feats.append("e:+" if v > 0 else "e:-")
            if tok in lexicon.anger:
                feats.append("e:anger")
        else:
            feats.append(("v:+" if v > 0 else "v:-") + str(min(3, int(abs(v) + 0.5))))
    feats.extend("e:+" for _ in _EMOTICON_POS.findall(p.text))
    feats.extend("e:-" for _ in _EMOTICON_NEG.findall(p.text))
    if lexicon.clusters:
        feats.extend(f"k:{lexicon.clusters[w]}" for w in p.words if w in lexicon.clusters)
    return feats


def has_emoticon(p: Prepared) -> bool:
    return bool(_EMOTICON_POS.search(p.text) or _EMOTICON_NEG.search(p.text))


@functools.lru_cache(maxsize=1024)
def _cue_hash(s: str) -> int:
    # A dozen cue strings plus one per word cluster: hash each once per process.
    return _h(s)


def cue_hashes(p: Prepared, lexicon: Lexicon) -> list[int]:
    return [_cue_hash(f) for f in cue_strings(p, lexicon)]


def fingerprint(text: str) -> str:
    """Key for exact-text corrections: case, spacing, mentions and URLs do not matter."""
    p = prepare(text)
    return " ".join(p.tokens)


def only_placeholders(p: Prepared) -> bool:
    return not p.words and not any(t[0] not in "!?" for t in p.tokens)


def word_spans(text: str) -> list[str]:
    return _WORD.findall(text)
