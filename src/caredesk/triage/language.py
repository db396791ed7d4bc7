"""Language identification: writing system first, then a naive-Bayes model within it.

Most scripts name their language outright (Telugu script is Telugu). Where one script is
shared by several languages (Latin, Cyrillic, Arabic) a small naive-Bayes model over words
and character 1-3-grams decides. The Latin model has a class for romanised Hindi/Urdu
("mera order abhi tak nahi aaya"), reported as ``hi`` with script ``Latn``, so such posts are
not mistaken for English. Model tables are built by scripts/train_triage.py from wordfreq's
word lists plus hand-written seed lexicons.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from caredesk.triage.keys import as_hashes, check_sorted_unique, find_rows
from caredesk.triage.text import Prepared, remember

UNDETERMINED = "und"

# (first code point, last code point, script)
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, "Latn"),
    (0x1E00, 0x1EFF, "Latn"),
    (0x0370, 0x03FF, "Grek"),
    (0x1F00, 0x1FFF, "Grek"),
    (0x0400, 0x052F, "Cyrl"),
    (0x0530, 0x058F, "Armn"),
    (0x0590, 0x05FF, "Hebr"),
    (0x0600, 0x06FF, "Arab"),
    (0x0750, 0x077F, "Arab"),
    (0xFB50, 0xFDFF, "Arab"),
    (0xFE70, 0xFEFF, "Arab"),
    (0x0900, 0x097F, "Deva"),
    (0x0980, 0x09FF, "Beng"),
    (0x0A00, 0x0A7F, "Guru"),
    (0x0A80, 0x0AFF, "Gujr"),
    (0x0B00, 0x0B7F, "Orya"),
    (0x0B80, 0x0BFF, "Taml"),
    (0x0C00, 0x0C7F, "Telu"),
    (0x0C80, 0x0CFF, "Knda"),
    (0x0D00, 0x0D7F, "Mlym"),
    (0x0D80, 0x0DFF, "Sinh"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Laoo"),
    (0x0F00, 0x0FFF, "Tibt"),
    (0x1000, 0x109F, "Mymr"),
    (0x10A0, 0x10FF, "Geor"),
    (0x1100, 0x11FF, "Hang"),
    (0x3130, 0x318F, "Hang"),
    (0xAC00, 0xD7AF, "Hang"),
    (0x1200, 0x137F, "Ethi"),
    (0x1780, 0x17FF, "Khmr"),
    (0x3040, 0x30FF, "Kana"),
    (0x3400, 0x4DBF, "Hani"),
    (0x4E00, 0x9FFF, "Hani"),
)

# Scripts that (for a customer-care desk) name a single language.
SCRIPT_LANGUAGE: Mapping[str, str] = {
    "Grek": "el", "Armn": "hy", "Hebr": "he", "Deva": "hi", "Beng": "bn", "Guru": "pa",
    "Gujr": "gu", "Orya": "or", "Taml": "ta", "Telu": "te", "Knda": "kn", "Mlym": "ml",
    "Sinh": "si", "Thai": "th", "Laoo": "lo", "Tibt": "bo", "Mymr": "my", "Geor": "ka",
    "Hang": "ko", "Ethi": "am", "Khmr": "km", "Kana": "ja", "Hani": "zh",
}  # fmt: skip

# Scripts resolved by a model in language.npz, named by the group key used in the file.
MODEL_GROUPS: Mapping[str, str] = {"Latn": "latn", "Cyrl": "cyrl", "Arab": "arab"}

# Letters only Urdu (not Arabic or Persian) uses: a strong, cheap hint inside the Arabic group.
_URDU_LETTERS = frozenset("ٹڈڑںےۓھ")

# Words that customers of the desk's main languages often write alone, and that the
# word-list model gives to another language (Malay "tak" = "not"): on posts of up to three
# words, one of these decides.
SHORT_POST_WORDS: Mapping[str, str] = {
    "tak": "da", "tusind": "da", "hej": "da", "mvh": "da",
    "shukriya": "hi", "dhanyavad": "hi", "dhanyawad": "hi", "bakwas": "hi", "bekar": "hi",
    "janab": "ur", "meherbani": "ur", "mehrbani": "ur", "jazakallah": "ur",
}  # fmt: skip

# Romanised Hindi and Urdu are one spoken language in Latin letters; what tells them apart
# is vocabulary: Perso-Arabic words formal Urdu prefers, Sanskrit-derived ones Hindi prefers.
# A romanised post is "ur" only when Urdu markers outnumber Hindi ones; otherwise "hi"
# (the larger group of writers). Hand-picked, deliberately short: common shared words
# (shukriya, mushkil, waqt, shikayat) are in neither list.
ROMAN_URDU_MARKERS = frozenset(
    {
        "janab", "meherbani", "mehrbani", "meharbani", "inshallah", "inshaallah", "mashallah",
        "alhamdulillah", "khuda", "darkhwast", "darkhuwast", "guzarish", "guzaarish",
        "ittila", "ittilaa", "ittela", "tashreef", "rabta", "raabta", "sahulat", "sahoolat",
        "mutabiq", "baraye", "baraae", "barae", "jazakallah", "behtareen", "behtreen",
        "maazrat", "mazrat", "maazarat", "iltija", "ehtiyat", "hazrat", "zaroorat", "zarurat",
    }
)  # fmt: skip
ROMAN_HINDI_MARKERS = frozenset(
    {
        "dhanyavad", "dhanyawad", "kripya", "kripaya", "krupya", "samasya", "sahayata",
        "seva", "prapt", "suvidha", "turant", "namaste", "namaskar", "avashyak", "aavashyak",
        "uplabdh", "vibhag", "jankari", "shighra", "kshama", "pratiksha", "asuvidha",
    }
)  # fmt: skip
_DESK = frozenset({"en", "da", "hi", "ur", "te"})

_script_cache: dict[str, str | None] = {}


def char_script(ch: str) -> str | None:
    cached = _script_cache.get(ch, "")
    if cached != "":
        return cached
    cp = ord(ch)
    found: str | None = None
    for lo, hi, name in _RANGES:
        if lo <= cp <= hi:
            found = name
            break
    if len(_script_cache) < 50_000:
        _script_cache[ch] = found
    return found


_ASCII_NON_LETTERS = re.compile(r"[^A-Za-z]+")


def script_counts(text: str) -> dict[str, int]:
    if text.isascii():
        # Most posts: every ASCII letter is Latin, counted in C rather than char by char.
        n = len(_ASCII_NON_LETTERS.sub("", text))
        return {"Latn": n} if n else {}
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            s = char_script(ch)
            if s is not None:
                counts[s] = counts.get(s, 0) + 1
    if "Kana" in counts and "Hani" in counts:
        # Japanese mixes kanji with kana; Han characters then count for Japanese.
        counts["Kana"] += counts.pop("Hani")
    return counts


_word_cache: dict[str, tuple[int, ...]] = {}
_WORD_CACHE_MAX = 200_000
# Per language group; an entry holds one int per language: at the limit about 8 MB for
# the Latin-script group (28 languages), 3 MB for the others.
_WORD_COSTS_MAX = 20_000
_MAX_WORDS = 64  # a post's language is judged on its first words


def _word_hashes(w: str) -> tuple[int, ...]:
    # Memoised per word: hashing every n-gram of every word dominated language time.
    got = _word_cache.get(w)
    if got is None:
        out = [zlib.crc32(("W" + w).encode("utf-8"))]
        padded = " " + w + " "
        for n in (1, 2, 3):
            for i in range(len(padded) - n + 1):
                gram = padded[i : i + n]
                if gram != " ":
                    out.append(zlib.crc32(("C" + gram).encode("utf-8")))
        got = remember(_word_cache, w, tuple(out), _WORD_CACHE_MAX)
    return got


def lang_features(words: tuple[str, ...]) -> list[int]:
    """Hashes for the language model: whole words and char 1-3-grams of ' word '."""
    out: list[int] = []
    for w in words[:_MAX_WORDS]:
        out.extend(_word_hashes(w))
    return out


@dataclass(frozen=True)
class LanguageGroupModel:
    langs: tuple[str, ...]
    keys: npt.NDArray[np.uint32]  # sorted feature hashes
    cost: npt.NDArray[np.uint8]  # [V, L] -log p quantised by 1/SCALE
    prior: npt.NDArray[np.float32]  # [L] log prior (favours the desk's main languages)
    scale: float
    # Word -> (summed cost of its features, features known). A word's features do not
    # depend on its neighbours, so its share of the (integer) sum is the same in every post;
    # looking each word up once per process was the largest cost of language identification.
    _word_costs: dict[str, tuple[npt.NDArray[np.int64], int]] = field(
        init=False, default_factory=dict, compare=False, repr=False
    )

    def scores(self, hashes: list[int]) -> tuple[npt.NDArray[np.float64], int]:
        cost, hits = self._cost(hashes)
        if hits == 0:
            return self.prior.astype(np.float64), 0
        return self.prior - cost.astype(np.float64) / self.scale, hits

    def word_scores(self, words: tuple[str, ...]) -> tuple[npt.NDArray[np.float64], int]:
        """``scores(lang_features(words))``, from per-word sums memoised per process."""
        costs: list[npt.NDArray[np.int64]] = []
        hits = 0
        for w in words[:_MAX_WORDS]:
            got = self._word_costs.get(w)
            if got is None:
                got = remember(
                    self._word_costs, w, self._cost(list(_word_hashes(w))), _WORD_COSTS_MAX
                )
            if got[1]:
                costs.append(got[0])
                hits += got[1]
        if hits == 0:
            return self.prior.astype(np.float64), 0
        total = np.sum(costs, axis=0, dtype=np.int64)
        return self.prior - total.astype(np.float64) / self.scale, hits

    def _cost(self, hashes: list[int]) -> tuple[npt.NDArray[np.int64], int]:
        if not hashes or not len(self.keys):
            return np.zeros(len(self.langs), dtype=np.int64), 0
        r = find_rows(self.keys, as_hashes(hashes))
        hit = r[r >= 0]
        return self.cost[hit].sum(axis=0, dtype=np.int64), int(hit.size)


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    confidence: float
    script: str  # ISO 15924, "Zyyy" when there is no letter
    reasons: tuple[str, ...]
    romanised: bool = False


class LanguageIdentifier:
    def __init__(self, groups: Mapping[str, LanguageGroupModel]) -> None:
        self.groups = dict(groups)

    @classmethod
    def from_npz(cls, data: Mapping[str, npt.NDArray[np.generic]]) -> LanguageIdentifier:
        groups: dict[str, LanguageGroupModel] = {}
        for key in set(MODEL_GROUPS.values()):
            if f"{key}_keys" not in data:
                continue
            check_sorted_unique(np.asarray(data[f"{key}_keys"]), f"language model {key!r}")
            groups[key] = LanguageGroupModel(
                langs=tuple(str(x) for x in data[f"{key}_langs"]),
                keys=np.asarray(data[f"{key}_keys"], dtype=np.uint32),
                cost=np.asarray(data[f"{key}_cost"], dtype=np.uint8),
                prior=np.asarray(data[f"{key}_prior"], dtype=np.float32),
                scale=float(np.asarray(data[f"{key}_scale"]).item()),
            )
        return cls(groups)

    def identify(self, p: Prepared) -> LanguageGuess:
        if not p.words:
            if p.truncated or p.raw_len:
                why = "no words to judge the language (only emoji, links, mentions or symbols)"
            else:
                why = "empty text"
            return LanguageGuess(UNDETERMINED, 0.0, "Zyyy", (why,))
        counts = script_counts(" ".join(p.words))
        if not counts:
            return LanguageGuess(UNDETERMINED, 0.0, "Zyyy", ("no letters in a known script",))
        total = sum(counts.values())
        script, n = max(counts.items(), key=lambda kv: kv[1])
        reasons: list[str] = []
        if n < total:
            parts = ", ".join(
                f"{s} {c * 100 // total}%" for s, c in sorted(counts.items(), key=lambda kv: -kv[1])
            )
            reasons.append(f"mixed scripts ({parts}); judged by the main one")
        share = n / total
        if script in SCRIPT_LANGUAGE:
            lang = SCRIPT_LANGUAGE[script]
            reasons.append(f"written in {script} script")
            return LanguageGuess(
                lang, round(min(0.99, 0.6 + 0.39 * share), 3), script, tuple(reasons)
            )
        group = self.groups.get(MODEL_GROUPS.get(script, ""))
        if group is None:
            reasons.append(f"script {script} has no language model")
            return LanguageGuess(UNDETERMINED, 0.0, script, tuple(reasons))
        words = tuple(w for w in p.words if _main_script(w) == script) or p.words
        scores, hits = group.word_scores(words)
        if script == "Arab" and any(c in _URDU_LETTERS for w in words for c in w):
            scores = scores + np.array([3.0 if lg == "ur" else 0.0 for lg in group.langs])
        if hits == 0:
            reasons.append(f"no known {script} words or letter patterns")
            return LanguageGuess(UNDETERMINED, 0.0, script, tuple(reasons))
        order = np.argsort(-scores)
        best = int(order[0])
        # Naive Bayes is overconfident; soften by the evidence size for a usable confidence.
        temp = max(1.0, math.sqrt(hits) / 2)
        z = (scores - scores[best]) / temp
        conf = float(1.0 / np.exp(z).sum()) * share
        code = group.langs[best]
        short = [SHORT_POST_WORDS[w] for w in words if w in SHORT_POST_WORDS]
        if script == "Latn" and short and len(words) <= 3 and code.split("-")[0] not in _DESK:
            hit = next(w for w in words if w in SHORT_POST_WORDS)
            code = f"{short[0]}-Latn" if short[0] in {"hi", "ur"} else short[0]
            reasons.append(f"short post: '{hit}' is a common word in '{short[0]}'")
            conf = max(conf, 0.6)
        romanised = code.endswith("-Latn")
        lang = code.split("-")[0]
        if romanised:
            urdu = [w for w in words if w in ROMAN_URDU_MARKERS]
            hindi = sum(1 for w in words if w in ROMAN_HINDI_MARKERS)
            if lang == "ur" or len(urdu) > hindi:
                lang = "ur"
                marker = urdu[0] if urdu else next(w for w in words if w in SHORT_POST_WORDS)
                reasons.append(f"romanised Urdu in Latin script ('{marker}' is an Urdu word)")
            else:
                lang = "hi"
                reasons.append("romanised Hindi/Urdu words in Latin script (read as Hindi)")
        elif not reasons or not reasons[-1].startswith("short post"):
            runner = group.langs[int(order[1])] if len(order) > 1 else None
            reasons.append(
                f"{script}-script words read as '{lang}'"
                + (f" rather than '{runner.split('-')[0]}'" if runner else "")
            )
        return LanguageGuess(lang, round(conf, 3), script, tuple(reasons), romanised)


def _main_script(word: str) -> str | None:
    for ch in word:
        if ch.isalpha():
            return char_script(ch)
    return None
