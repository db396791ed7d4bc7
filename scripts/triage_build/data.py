"""Training data: every source under ../shared/data, the repo's seeds, and the fixed-seed
held-out splits that bench/triage.py reports on (never trained on)."""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caredesk.triage import intents as intent_maps
from triage_build import ROOT

SEED = 20240611
SEED_DIR = ROOT / "src" / "caredesk" / "triage" / "seed_data"
TWCS_LABELS = ROOT / "bench" / "data" / "twcs_kind_labels.tsv"
DEFAULT_OUT = ROOT / "src" / "caredesk" / "triage" / "model_files"
csv.field_size_limit(10_000_000)


@dataclass
class Example:
    text: str
    label: str
    weight: float = 1.0
    source: str = ""


@dataclass
class Splits:
    """Train and held-out rows for each task; test rows are never used to fit."""

    sentiment_train: list[Example] = field(default_factory=list)
    kind_train: list[Example] = field(default_factory=list)
    intent_train: list[Example] = field(default_factory=list)
    airline_test: list[Example] = field(default_factory=list)
    semeval_test: list[Example] = field(default_factory=list)
    sail_test: list[Example] = field(default_factory=list)
    telugu_test: list[Example] = field(default_factory=list)
    banking_test: list[Example] = field(default_factory=list)  # mapped intents
    bitext_test: list[Example] = field(default_factory=list)  # mapped intents
    twcs_kind_test: list[Example] = field(default_factory=list)
    clinc_oos_test: list[Example] = field(default_factory=list)
    hinglish_train_text: list[str] = field(default_factory=list)
    # CLINC in-scope rows left over after the per-intent sample: the kind tuning split
    # draws from them (they are training data the heads never fit on).
    clinc_spare: list[Example] = field(default_factory=list)


def _split(rows: list[Any], frac: float, key: str) -> tuple[list[Any], list[Any]]:
    rng = random.Random(f"{SEED}-{key}")
    idx = list(range(len(rows)))
    rng.shuffle(idx)
    n_test = int(len(rows) * frac)
    test = {i for i in idx[:n_test]}
    return [r for i, r in enumerate(rows) if i not in test], [
        r for i, r in enumerate(rows) if i in test
    ]


def _lines(path: Path) -> list[str]:
    return [ln.rstrip("\n") for ln in path.read_text(encoding="utf-8").splitlines()]


def _unescape(s: str) -> str:
    # XLM-T files keep JSON-style escapes (\u2019, \u002c).
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), s)


THANKS = re.compile(
    r"^\W*(thanks?|thank you|thx|ty|cheers|appreciate|great|awesome|perfect|brilliant|"
    r"amazing|love)\b",
    re.IGNORECASE,
)
NEG_HINT = re.compile(r"\b(not|no|never|still|but|won't|can't|cant|didn't|issue|problem)\b", re.I)


def load_seeds() -> list[dict[str, str]]:
    with (SEED_DIR / "seeds.tsv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def load_keywords() -> list[dict[str, str]]:
    """Translated keyword lists: one short training example per phrase."""
    with (SEED_DIR / "keywords.tsv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def load_splits(data: Path) -> Splits:
    if not (data / "README.md").exists():
        raise SystemExit(f"training data not found at {data} (expected ../shared/data)")
    s = Splits()
    sent_map = {"0": "negative", "1": "neutral", "2": "positive"}

    # Airline: 20 % held out for sentiment (and nothing else trains on it).
    with (data / "airline" / "tweets_train.csv").open(encoding="utf-8") as f:
        airline = list(csv.DictReader(f))
    a_train, a_test = _split(airline, 0.2, "airline")
    s.airline_test = [Example(r["text"], r["airline_sentiment"]) for r in a_test]
    for r in a_train:
        s.sentiment_train.append(Example(r["text"], r["airline_sentiment"], 1.0, "airline"))
        if r["airline_sentiment"] == "negative":
            s.kind_train.append(Example(r["text"], "care", 1.0, "airline"))
            intent = intent_maps.AIRLINE_REASON_INTENT.get(r["negativereason"])
            if intent:
                s.intent_train.append(Example(r["text"], intent, 1.0, "airline"))
        elif r["airline_sentiment"] == "positive":
            s.kind_train.append(Example(r["text"], "engagement", 1.0, "airline"))
            s.intent_train.append(Example(r["text"], "praise", 0.5, "airline"))
        elif "?" in r["text"]:
            s.kind_train.append(Example(r["text"], "care", 0.5, "airline"))

    for name, key in (("english_tweets", "semeval"), ("hindi_romanized_tweets", "sail")):
        d = data / "sentiment" / name
        for part in ("train", "val"):
            texts = [_unescape(t) for t in _lines(d / f"{part}_text.txt")]
            labels = [sent_map[x.strip()] for x in _lines(d / f"{part}_labels.txt") if x.strip()]
            rows = [Example(t, lab, 1.0, key) for t, lab in zip(texts, labels, strict=False)]
            if part == "train":
                s.sentiment_train.extend(rows)
                if key == "sail":
                    s.hinglish_train_text.extend(texts)
            elif key == "semeval":
                s.semeval_test = rows
            else:
                s.sail_test = rows

    tel = []
    for ln in _lines(
        data / "sentiment" / "telugu_news" / "ACTSA_telugu_polarity_annotated_UTF.txt"
    ):
        parts = ln.lstrip("\ufeff").split(None, 1)
        if len(parts) == 2 and parts[0] in {"-1", "0", "+1"}:
            lab = {"-1": "negative", "0": "neutral", "+1": "positive"}[parts[0]]
            tel.append(Example(parts[1].strip(), lab, 0.5, "actsa"))
    t_train, s.telugu_test = _split(tel, 0.15, "telugu")
    s.sentiment_train.extend(t_train)

    # Banking77 and Bitext: 15 % held out for intent.
    with (data / "banking77" / "train.csv").open(encoding="utf-8") as f:
        bank = list(csv.DictReader(f))
    b_train, b_test = _split(bank, 0.15, "banking77")
    s.banking_test = [
        Example(r["text"], intent_maps.BANKING77_INTENT[r["category"]]) for r in b_test
    ]
    for r in b_train:
        s.intent_train.append(Example(r["text"], intent_maps.BANKING77_INTENT[r["category"]], 0.5))
        s.kind_train.append(Example(r["text"], "care", 0.3, "banking77"))

    bit_path = data / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with bit_path.open(encoding="utf-8") as f:
        bitext = list(csv.DictReader(f))
    x_train, x_test = _split(bitext, 0.15, "bitext")
    s.bitext_test = [
        Example(r["instruction"], intent_maps.BITEXT_INTENT[r["intent"]]) for r in x_test
    ]
    for r in x_train:
        intent = intent_maps.BITEXT_INTENT[r["intent"]]
        s.intent_train.append(Example(r["instruction"], intent, 1.0, "bitext"))
        kind = intent_maps.BITEXT_KIND[r["intent"]]
        s.kind_train.append(Example(r["instruction"], kind, 0.5, "bitext"))

    clinc = json.loads((data / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    s.clinc_oos_test = [Example(t, "noise") for t, _ in clinc["oos_test"]]
    per_intent: dict[str, list[str]] = defaultdict(list)
    for t, lab in clinc["train"] + clinc["val"]:
        per_intent[lab].append(t)
    rng = random.Random(SEED)
    for t, _ in clinc["oos_train"] + clinc["oos_val"]:
        s.kind_train.append(Example(t, "noise", 1.0, "clinc_oos"))
        s.intent_train.append(Example(t, "other", 0.5, "clinc_oos"))
    for lab, texts in sorted(per_intent.items()):
        kind, intent = intent_maps.clinc_label(lab)
        chosen = rng.sample(texts, 25 if kind == "noise" else 40)
        taken = set(chosen)
        s.clinc_spare.extend(Example(t, kind, 1.0, "clinc") for t in texts if t not in taken)
        for t in chosen:
            s.kind_train.append(Example(t, kind, 0.5, "clinc"))
            s.intent_train.append(Example(t, intent, 0.3, "clinc"))

    # TWCS inbound tweets: care unless a short thank-you; the hand-labelled ids stay out.
    labelled = {}
    for ln in _lines(TWCS_LABELS):
        if ln and not ln.startswith("#") and not ln.startswith("tweet_id"):
            tid, kind = ln.split("\t")
            labelled[tid] = kind
    with (data / "twcs" / "twcs_random5000.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["inbound"] != "True":
                continue
            if r["tweet_id"] in labelled:
                s.twcs_kind_test.append(Example(r["text"], labelled[r["tweet_id"]]))
                continue
            text = r["text"]
            short_thanks = (
                THANKS.search(re.sub(r"@\w+", "", text).strip())
                and len(text.split()) < 16
                and not NEG_HINT.search(text)
                and "?" not in text
            )
            s.kind_train.append(
                Example(text, "engagement" if short_thanks else "care", 0.7, "twcs")
            )
            if short_thanks:
                s.intent_train.append(Example(text, "praise", 0.5, "twcs"))

    home_kind = {"pricing": "sales", "purchase": "sales", "praise": "engagement", "spam": "noise"}
    for row in load_keywords():
        task, label = row["label"].split(":")
        for phrase in row["words"].split("|"):
            if task == "intent":
                s.intent_train.append(Example(phrase, label, 3.0, "keyword"))
                s.kind_train.append(Example(phrase, home_kind.get(label, "care"), 2.0, "keyword"))
            else:
                s.sentiment_train.append(Example(phrase, label, 3.0, "keyword"))
    for row in load_seeds():
        w = 6.0
        s.sentiment_train.append(Example(row["text"], row["sentiment"], w, "seed"))
        s.kind_train.append(Example(row["text"], row["kind"], w, "seed"))
        s.intent_train.append(Example(row["text"], row["intent"], w, "seed"))
    return s
