"""Variants of the airline training tweets for distilling the sentiment teacher into the linear
head. The variants are made the same way on every run (fixed seed): the teacher stage labels
them and the committed label file is matched to them by a hash of their text."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from triage_build.data import SEED, Example

VARIANTS = 6  # per airline training tweet
HANDLES = (
    "@united",
    "@AmericanAir",
    "@SouthwestAir",
    "@JetBlue",
    "@USAirways",
    "@VirginAmerica",
    "@Delta",
)


@dataclass(frozen=True)
class Variant:
    text: str
    origin: int  # index of the airline training tweet it was made from


def airline_variants(sentiment_train: list[Example]) -> list[Variant]:
    """Word dropout, a crop and a word swap per tweet, each with the airline handles mixed up
    so the teacher's labels teach words, not which airline was named."""
    rng = random.Random(f"{SEED}-augment")
    airline = [e for e in sentiment_train if e.source == "airline"]
    out: list[Variant] = []
    for origin, example in enumerate(airline):
        words = example.text.split()
        if not words:
            continue
        for k in range(VARIANTS):
            out.append(Variant(" ".join(_vary(words, k % 3, rng)), origin))
    return out


def _vary(words: list[str], mode: int, rng: random.Random) -> list[str]:
    w = list(words)
    if mode == 0:
        w = [x for x in w if rng.random() > 0.12] or w
    elif mode == 1 and len(w) > 4:
        n = rng.randint(max(3, len(w) // 2), len(w))
        start = rng.randint(0, len(w) - n)
        w = w[start : start + n]
    elif mode == 2:
        w = [x for x in w if rng.random() > 0.06] or w
        i, j = rng.randrange(len(w)), rng.randrange(len(w))
        w[i], w[j] = w[j], w[i]
    return [rng.choice(HANDLES) if x.startswith("@") and rng.random() < 0.5 else x for x in w]


def texts_digest(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()
