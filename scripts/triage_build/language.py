"""The language model: naive-Bayes tables per writing system from wordfreq word lists,
romanised Hindi from the SAIL training tweets, and the hand-written seed words."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from caredesk.triage.language import lang_features
from caredesk.triage.text import prepare
from triage_build.data import SEED_DIR, _lines

LATIN = ["en", "da", "nb", "sv", "de", "nl", "fr", "es", "pt", "it", "ca", "ro", "pl", "cs", "sk",
         "sl", "sh", "hu", "fi", "lv", "lt", "tr", "id", "ms", "vi", "fil", "is"]  # fmt: skip
CYRILLIC = ["ru", "uk", "bg", "mk"]
ARABIC = ["ar", "fa", "ur"]
RENAME = {"sh": "hr", "fil": "tl"}
# The desk's main languages get a head start in close calls (da vs nb/sv, ur vs fa, ...).
PRIOR = {"en": 2.0, "da": 3.0, "hi-Latn": 1.0, "ur": 2.0}
SCALE = 8.0  # cost quantisation: 1/8 nat per step


def _word_counts(lang: str, n: int, script_ok: Any) -> dict[str, float]:
    import wordfreq

    out: dict[str, float] = {}
    for w in wordfreq.top_n_list(lang, n * 2):
        if script_ok(w):
            out[w] = wordfreq.word_frequency(w, lang)
            if len(out) >= n:
                break
    return out


def hinglish_counts(texts: list[str]) -> dict[str, float]:
    import wordfreq

    lex = (SEED_DIR / "romanised_hindi.txt").read_text(encoding="utf-8").split()
    english = set(wordfreq.top_n_list("en", 20_000))
    c: Counter[str] = Counter()
    for t in texts:
        for w in prepare(t).words:
            if w.isascii() and w.isalpha() and len(w) > 1 and w not in english:
                c[w] += 1
    total = sum(c.values()) or 1
    out = {w: 0.5 * n / total for w, n in c.items() if n >= 2}
    for w in lex:
        out[w] = out.get(w, 0.0) + 0.5 / len(lex)
    return out


def build_language_group(
    langs: dict[str, dict[str, float]], extra: dict[str, dict[str, float]] | None = None
) -> dict[str, Any]:
    """Naive-Bayes tables; ``extra`` words set only their whole-word probability, so they
    settle short posts ("tak!") without shifting the letter statistics of the language."""
    names = list(langs)
    tables: list[dict[int, float]] = []
    floors: list[float] = []
    for lang in names:
        words = langs[lang]
        total = sum(words.values())
        wprob = {w: f / total for w, f in words.items()}
        grams: Counter[int] = Counter()
        table: dict[int, float] = {}
        for w, p in wprob.items():
            hashes = lang_features((w,))
            table[hashes[0]] = table.get(hashes[0], 0.0) + p
            for h in hashes[1:]:
                grams[h] += p
        gtotal = sum(grams.values())
        alpha = 1e-5
        for h, g in grams.items():
            table[h] = (g + alpha) / (gtotal + alpha * len(grams))
        for w, p in (extra or {}).get(lang, {}).items():
            h = lang_features((w,))[0]
            table[h] = max(table.get(h, 0.0), p)
        floors.append(min(wprob.values()) * 0.3)
        tables.append(table)
    keys = sorted(set().union(*tables))
    cost = np.zeros((len(keys), len(names)), dtype=np.uint8)
    index = {h: i for i, h in enumerate(keys)}
    for j, table in enumerate(tables):
        floor_q = min(255, round(-math.log(floors[j]) * SCALE))
        col = np.full(len(keys), floor_q, dtype=np.int64)
        for h, p in table.items():
            col[index[h]] = min(255, round(-math.log(p) * SCALE))
        cost[:, j] = col
    codes = [RENAME.get(n, n) for n in names]
    return {
        "keys": np.array(keys, dtype=np.uint32),
        "cost": cost,
        "langs": np.array(codes),
        "prior": np.array([PRIOR.get(c, 0.0) for c in codes], dtype=np.float32),
        "scale": np.array(SCALE),
    }


def build_language(hinglish_texts: list[str]) -> dict[str, Any]:
    def latin(w: str) -> bool:
        return w.isalpha() and all(ord(ch) < 0x250 or 0x1E00 <= ord(ch) <= 0x1EFF for ch in w)

    def cyr(w: str) -> bool:
        return w.isalpha() and all(0x400 <= ord(ch) <= 0x52F for ch in w)

    def arab(w: str) -> bool:
        return all(0x600 <= ord(ch) <= 0x6FF or ch in "\u200c" for ch in w)

    out: dict[str, Any] = {}
    groups = {
        "latn": {**{lg: _word_counts(lg, 3000, latin) for lg in LATIN},
                 "hi-Latn": hinglish_counts(hinglish_texts)},
        "cyrl": {lg: _word_counts(lg, 3000, cyr) for lg in CYRILLIC},
        "arab": {lg: _word_counts(lg, 3000, arab) for lg in ARABIC},
    }  # fmt: skip
    extra: dict[str, dict[str, float]] = defaultdict(dict)
    for row in _lines(SEED_DIR / "language_words.tsv"):
        if row.startswith("#") or row.startswith("lang\t") or not row.strip():
            continue
        lang, freq, words = row.split("\t")
        for w in words.split():
            extra[lang][w] = float(freq)
    for key, langs in groups.items():
        for k, v in build_language_group(langs, extra).items():
            out[f"{key}_{k}"] = v
        print(f"  language/{key}: {len(langs)} languages, {len(out[f'{key}_keys'])} features")
    return out
