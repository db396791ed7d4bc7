"""Rebuild the triage model files from the public data sets and print their evaluation.

Usage:  .venv/bin/python scripts/train_triage.py [--data ../shared/data] [--out DIR]

Reads (all under --data; see its README.md):
  airline/tweets_train.csv                 Twitter US Airline Sentiment   CC BY-NC-SA 4.0
  sentiment/english_tweets/*               SemEval tweets via XLM-T       see XLM-T
  sentiment/hindi_romanized_tweets/*       SAIL romanised Hindi tweets    see XLM-T
  sentiment/telugu_news/*                  ACTSA Telugu news sentences    research use
  twcs/twcs_random5000.csv                 Customer Support on Twitter    CC BY-NC-SA 4.0
  bitext/*.csv                             Bitext customer support        CDLA-Sharing 1.0
  banking77/train.csv                      Banking77 (PolyAI)             CC BY 4.0
  clinc150/data_full.json                  CLINC150 (+ out-of-scope)      CC BY 3.0
plus, from this repo, the hand-written seeds in src/caredesk/triage/seed_data/ and, for the
language model, the word lists of the `wordfreq` package (Apache-2.0 code; data CC BY-SA 4.0).
The sentiment head also ships a polarity lexicon: the words of VADER's lexicon (vaderSentiment
3.3.2, MIT licence, C.J. Hutto) plus the hand-written seed_data/emoji_sentiment.tsv.

Sentiment is an ensemble of three linear models over the same features (logistic regression,
a linear SVM and NB-LR with log-count ratios), each scaled by the spread of its scores and
summed -- which is again one linear model, so run time is unchanged. Per-class bias offsets
and a temperature are tuned on out-of-fold scores of the airline *training* rows (never the
test rows), then the ensemble is refitted on all training rows. `--ablation` prints what
each step gives on a validation split of the training rows and on the held-out test rows.

Held-out test splits (fixed seed, never trained on) are produced by `load_splits()`, which
bench/triage.py reuses so both report on the very same rows. Needs scikit-learn and wordfreq
(dev-only); the run-time package needs only numpy.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import random
import re
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One BLAS thread: multi-threaded sums change the last bits of the fitted weights between
# runs, and the committed model files must be rebuilt byte for byte.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from caredesk.triage import intents as intent_maps  # noqa: E402
from caredesk.triage.language import lang_features  # noqa: E402
from caredesk.triage.text import Lexicon, cue_hashes, prepare, word_groups  # noqa: E402

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
        s.kind_train.append(Example(r["instruction"], intent_maps.BITEXT_KIND[r["intent"]], 0.5))

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


# ---------------------------------------------------------------- linear heads


def featurise(
    texts: list[str], uses_chars: bool, lexicon: Lexicon | None = None
) -> tuple[list[list[int]], list[int]]:
    feats: list[list[int]] = []
    counts: list[int] = []
    for t in texts:
        p = prepare(t)
        w, c = word_groups(p)
        f = w + c if uses_chars else w
        if lexicon is not None:
            f = f + cue_hashes(p, lexicon)
        feats.append(f)
        counts.append(len(f))
    return feats, counts


def design_matrix(feats: list[list[int]], vocab: dict[int, int]) -> Any:
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for i, f in enumerate(feats):
        scale = 1.0 / math.sqrt(max(1, len(f)))
        for h in f:
            j = vocab.get(h)
            if j is not None:
                rows.append(i)
                cols.append(j)
                vals.append(scale)
    return csr_matrix((vals, (rows, cols)), shape=(len(feats), len(vocab)), dtype=np.float64)


def train_head(
    name: str, examples: list[Example], *, uses_chars: bool, c: float, min_count: int = 2
) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    feats, _ = featurise([e.text for e in examples], uses_chars)
    df: Counter[int] = Counter()
    for f in feats:
        df.update(set(f))
    keys = sorted(h for h, n in df.items() if n >= min_count)
    vocab = {h: i for i, h in enumerate(keys)}
    x = design_matrix(feats, vocab)
    y = [e.label for e in examples]
    sw = np.array([e.weight for e in examples])
    clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    clf.fit(x, y, sample_weight=sw)
    classes = [str(k) for k in clf.classes_]
    coef = clf.coef_.T.astype(np.float32)
    bias = clf.intercept_.astype(np.float32)
    if coef.shape[1] == 1:  # binary: sklearn keeps one column
        coef = np.hstack([-coef / 2, coef / 2])
        bias = np.array([-bias[0] / 2, bias[0] / 2], dtype=np.float32)
    # Drop features whose weights are all near zero: they cost bytes, not accuracy.
    keep = np.abs(coef).max(axis=1) >= 0.02
    print(
        f"  {name}: {len(examples)} examples, {len(keys)} features "
        f"({int(keep.sum())} kept), {time.perf_counter() - t0:.1f}s"
    )
    return {
        "keys": np.array(keys, dtype=np.uint32)[keep],
        "weights": coef[keep].astype(np.float16),
        "bias": bias,
        "classes": np.array(classes),
        "uses_chars": np.array(uses_chars),
    }


# ---------------------------------------------------------------- sentiment head

SENT_C_LR = 4.0
SENT_C_SVM = 0.3
VAL_FRACTION = 0.15  # of the airline training rows: the ablation's validation split
SENT_FOLDS = 3  # folds over the airline training rows for offsets and temperature


def load_lexicon() -> tuple[Lexicon, dict[str, Any]]:
    """VADER's single-token words (MIT) plus the hand-written emoji polarities, as a Lexicon
    and as the arrays stored in sentiment.npz."""
    import vaderSentiment

    path = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
    valence: dict[str, float] = {}
    flags: dict[str, int] = {}
    for ln in path.read_text(encoding="utf-8").splitlines():
        parts = ln.split("\t")
        if len(parts) < 2:
            continue
        tokens = prepare(parts[0]).tokens
        # Only entries that are one word token at run time can ever match.
        if len(tokens) == 1 and tokens[0] == parts[0].casefold() and tokens[0][0].isalpha():
            valence[tokens[0]] = float(parts[1])
            flags[tokens[0]] = 0
    with (SEED_DIR / "emoji_sentiment.tsv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader((x for x in f if not x.startswith("#")), delimiter="\t")]
    for r in rows:
        valence[r["emoji"]] = float(r["valence"])
        flags[r["emoji"]] = 1 | (2 if r["anger"] == "1" else 0)
    words = sorted(valence)
    arrays = {
        "lex_words": np.array("\n".join(words)),
        "lex_valence": np.array([valence[w] for w in words], dtype=np.float16),
        "lex_flags": np.array([flags[w] for w in words], dtype=np.uint8),
    }
    lexicon = Lexicon(
        valence={w: float(v) for w, v in zip(words, arrays["lex_valence"], strict=True)},
        emoji=frozenset(w for w in words if flags[w] & 1),
        anger=frozenset(w for w in words if flags[w] & 2),
    )
    return lexicon, arrays


def vocabulary(feats: list[list[int]], min_count: int) -> dict[int, int]:
    df: Counter[int] = Counter()
    for f in feats:
        df.update(set(f))
    return {h: i for i, h in enumerate(sorted(h for h, n in df.items() if n >= min_count))}


def fit_linear(x: Any, y: np.ndarray, sw: np.ndarray, model: str) -> tuple[np.ndarray, np.ndarray]:
    """One of the ensemble's members: weights [V, C] and bias [C], classes sorted."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    classes = np.array(sorted(set(y)))
    if model == "lr":
        clf = LogisticRegression(C=SENT_C_LR, max_iter=3000, class_weight="balanced")
        clf.fit(x, y, sample_weight=sw)
        return clf.coef_.T, clf.intercept_
    if model == "svm":
        svm = LinearSVC(C=SENT_C_SVM, class_weight="balanced", max_iter=5000, random_state=0)
        svm.fit(x, y, sample_weight=sw)
        return svm.coef_.T, svm.intercept_
    # NB-LR (Wang & Manning 2012): one-vs-rest LR on features scaled by the log-count ratio
    # of presence in the class vs the rest; folding r into the weights keeps it linear.
    present = (x > 0).astype(np.float64)
    cols, bias = [], []
    for k in classes:
        pos = y == k
        p = np.asarray(present[pos].multiply(sw[pos][:, None]).sum(0)).ravel() + 1.0
        q = np.asarray(present[~pos].multiply(sw[~pos][:, None]).sum(0)).ravel() + 1.0
        r = np.log((p / p.sum()) / (q / q.sum()))
        clf = LogisticRegression(C=SENT_C_LR, max_iter=3000, class_weight="balanced")
        clf.fit(x.multiply(r).tocsr(), pos.astype(int), sample_weight=sw)
        cols.append(clf.coef_.ravel() * r)
        bias.append(clf.intercept_[0])
    return np.stack(cols, 1), np.array(bias)


def fit_ensemble(
    x: Any, y: np.ndarray, sw: np.ndarray, members: tuple[str, ...] = ("lr", "svm", "nb")
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the members' scores, each divided by its spread on the training rows."""
    w_sum = np.zeros((x.shape[1], len(set(y))))
    b_sum = np.zeros(len(set(y)))
    for m in members:
        w, b = fit_linear(x, y, sw, m)
        sd = float(np.asarray(x @ w + b).std()) or 1.0
        w_sum += w / sd
        b_sum += b / sd
    return w_sum, b_sum


def macro_f1_idx(gold: np.ndarray, pred: np.ndarray, n: int) -> float:
    f1s = []
    for k in range(n):
        tp = np.sum((gold == k) & (pred == k))
        fp = np.sum((gold != k) & (pred == k))
        fn = np.sum((gold == k) & (pred != k))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def tune_offsets(scores: np.ndarray, gold: np.ndarray, tolerance: float = 0.001) -> np.ndarray:
    """Per-class bias offsets (first class fixed at 0) maximising macro-F1 on held-out scores.

    Among offsets within ``tolerance`` of the best macro-F1 the smallest is taken: where the
    optimum is flat, a far-off bias is noise in the tuning rows, not a gain."""
    n = scores.shape[1]
    grid = np.round(np.arange(-1.0, 1.0001, 0.1), 2)
    found: list[tuple[float, float, np.ndarray]] = []
    for d1 in grid:
        for d2 in grid if n > 2 else [0.0]:
            off = np.array([0.0, d1, d2][:n])
            f = macro_f1_idx(gold, (scores + off).argmax(1), n)
            found.append((f, float(np.abs(off).sum()), off))
    best = max(f for f, _, _ in found)
    return min((c for c in found if c[0] >= best - tolerance), key=lambda c: (c[1], -c[0]))[2]


def tune_temperature(scores: np.ndarray, gold: np.ndarray) -> float:
    """Divisor of the scores that minimises validation log-loss (probabilities, not labels)."""
    best_t, best_nll = 1.0, math.inf
    for t in np.round(np.arange(0.3, 4.01, 0.05), 2):
        z = scores / t
        z = z - z.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        nll = float(-logp[np.arange(len(gold)), gold].mean())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def _design(examples: list[Example], lexicon: Lexicon | None, vocab: dict[int, int] | None) -> Any:
    feats, _ = featurise([e.text for e in examples], True, lexicon)
    vocab = vocab if vocab is not None else vocabulary(feats, 2)
    return design_matrix(feats, vocab), vocab


def sentiment_validation_split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """Airline training rows split once more: the validation part tunes offsets."""
    airline = [e for e in examples if e.source == "airline"]
    fit_air, val = _split(airline, VAL_FRACTION, "airline-validation")
    return fit_air + [e for e in examples if e.source != "airline"], val


def train_sentiment(examples: list[Example]) -> dict[str, Any]:
    t0 = time.perf_counter()
    lexicon, lex_arrays = load_lexicon()
    classes = sorted({e.label for e in examples})
    # Offsets and temperature are tuned on out-of-fold scores of every airline training row
    # (k-fold: each row scored by a model fitted without it): 8k rows, where one small
    # validation split gave offsets that moved with the split.
    feats, _ = featurise([e.text for e in examples], True, lexicon)
    airline = [i for i, e in enumerate(examples) if e.source == "airline"]
    rng = random.Random(f"{SEED}-sentiment-folds")
    rng.shuffle(airline)
    scores = np.zeros((len(airline), len(classes)))
    for k in range(SENT_FOLDS):
        held = set(airline[k::SENT_FOLDS])
        fit_idx = [i for i in range(len(examples)) if i not in held]
        held_pos = [j for j, i in enumerate(airline) if i in held]
        vocab = vocabulary([feats[i] for i in fit_idx], 2)
        w, b = fit_ensemble(
            design_matrix([feats[i] for i in fit_idx], vocab),
            np.array([examples[i].label for i in fit_idx]),
            np.array([examples[i].weight for i in fit_idx]),
        )
        x_held = design_matrix([feats[airline[j]] for j in held_pos], vocab)
        scores[held_pos] = np.asarray(x_held @ w + b)
    gold = np.array([classes.index(examples[i].label) for i in airline])
    offsets = tune_offsets(scores, gold)
    temp = tune_temperature(scores + offsets, gold)
    print(
        f"  sentiment: out-of-fold ({SENT_FOLDS} folds, {len(airline)} airline rows) macro-F1 "
        f"{macro_f1_idx(gold, scores.argmax(1), len(classes)):.4f} -> "
        f"{macro_f1_idx(gold, (scores + offsets).argmax(1), len(classes)):.4f} with offsets "
        f"{offsets.round(2).tolist()}, temperature {temp}"
    )
    # Final fit on every training row, with the offsets and temperature found above.
    vocab = vocabulary(feats, 2)
    x_all = design_matrix(feats, vocab)
    w, b = fit_ensemble(
        x_all, np.array([e.label for e in examples]), np.array([e.weight for e in examples])
    )
    coef = (w / temp).astype(np.float32)
    bias = ((b + offsets) / temp).astype(np.float32)
    keep = np.abs(coef).max(axis=1) >= 0.02
    keys = np.array(sorted(vocab, key=vocab.__getitem__), dtype=np.uint32)
    print(
        f"  sentiment: {len(examples)} examples, {len(keys)} features "
        f"({int(keep.sum())} kept), {time.perf_counter() - t0:.1f}s"
    )
    return {
        "keys": keys[keep],
        "weights": coef[keep].astype(np.float16),
        "bias": bias,
        "classes": np.array(classes),
        "uses_chars": np.array(True),
        **lex_arrays,
    }


def sentiment_ablation(splits: Splits) -> None:
    """What each step gives: validation (tuning) and held-out test macro-F1 on airline."""
    lexicon, _ = load_lexicon()
    classes = sorted({e.label for e in splits.sentiment_train})
    fit_rows, val = sentiment_validation_split(splits.sentiment_train)
    gold_v = np.array([classes.index(e.label) for e in val])
    gold_t = np.array([classes.index(e.label) for e in splits.airline_test])
    y = np.array([e.label for e in fit_rows])
    sw = np.array([e.weight for e in fit_rows])
    print(f"{'step':44} {'val':>7} {'test':>7}")
    for use_lex in (False, True):
        x, vocab = _design(fit_rows, lexicon if use_lex else None, None)
        xv, _ = _design(val, lexicon if use_lex else None, vocab)
        xt, _ = _design(splits.airline_test, lexicon if use_lex else None, vocab)
        feats = "words+chars" + (" + lexicon/emoji cues" if use_lex else "")
        runs = (
            [("lr",), ("svm",), ("nb",), ("lr", "nb"), ("lr", "svm", "nb")]
            if use_lex
            else [("lr",)]
        )
        for members in runs:
            w, b = fit_ensemble(x, y, sw, members)
            sv, st = np.asarray(xv @ w + b), np.asarray(xt @ w + b)
            name = f"{feats}, {'+'.join(members)}"
            print(
                f"{name:44} {macro_f1_idx(gold_v, sv.argmax(1), 3):7.4f} "
                f"{macro_f1_idx(gold_t, st.argmax(1), 3):7.4f}",
                flush=True,
            )
            if len(members) == 3:
                off = tune_offsets(sv, gold_v)
                tuned = name + " + offsets"
                print(
                    f"{tuned:44} {macro_f1_idx(gold_v, (sv + off).argmax(1), 3):7.4f} "
                    f"{macro_f1_idx(gold_t, (st + off).argmax(1), 3):7.4f}"
                )


# ---------------------------------------------------------------- language model

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


# ---------------------------------------------------------------- main


SOURCES = [
    "airline/tweets_train.csv (Twitter US Airline Sentiment, CC BY-NC-SA 4.0)",
    "sentiment/english_tweets (SemEval tweets via XLM-T, see XLM-T)",
    "sentiment/hindi_romanized_tweets (SAIL Hinglish via XLM-T, see XLM-T)",
    "sentiment/telugu_news (ACTSA, research use)",
    "twcs/twcs_random5000.csv (Customer Support on Twitter, CC BY-NC-SA 4.0)",
    "bitext (Bitext customer support sample, CDLA-Sharing 1.0)",
    "banking77/train.csv (Banking77, CC BY 4.0)",
    "clinc150/data_full.json (CLINC150 incl. out-of-scope, CC BY 3.0)",
    "wordfreq 3.1.1 word lists (data CC BY-SA 4.0)",
    "vaderSentiment 3.3.2 vader_lexicon.txt (C.J. Hutto, MIT licence), in sentiment.npz",
    "src/caredesk/triage/seed_data (hand-written, Caredesk licence)",
]
MODEL_FILES = ("language.npz", "sentiment.npz", "kind.npz", "intent.npz", "manifest.json")


def save(path: Path, arrays: dict[str, Any]) -> int:
    """Like np.savez_compressed, but byte-for-byte reproducible (fixed zip timestamps)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())
    return path.stat().st_size


def compare(built: Path, committed: Path) -> list[str]:
    """Names of the model files that differ between two directories."""
    return [
        n
        for n in MODEL_FILES
        if not (committed / n).exists() or (built / n).read_bytes() != (committed / n).read_bytes()
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument(
        "--ablation",
        action="store_true",
        help="print the sentiment ablation (validation and test macro-F1) and exit",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="build into a temporary folder and check it equals --out byte for byte",
    )
    args = ap.parse_args(argv)
    if args.ablation:
        sentiment_ablation(load_splits(args.data))
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(args.data, Path(tmp), evaluate=False)
            differ = compare(Path(tmp), args.out)
        if differ:
            print(f"REBUILD DIFFERS from {args.out}: {', '.join(differ)}")
            return 1
        print(f"rebuild is identical to {args.out} ({', '.join(MODEL_FILES)})")
        return 0
    return build(args.data, args.out, evaluate=True)


def build(data: Path, out: Path, *, evaluate: bool) -> int:
    t0 = time.perf_counter()
    print("training data and licences:")
    for src in SOURCES:
        print(f"  {src}")
    splits = load_splits(data)
    out.mkdir(parents=True, exist_ok=True)
    args = argparse.Namespace(out=out)
    print("training")
    sizes = {
        "language.npz": save(args.out / "language.npz", build_language(splits.hinglish_train_text)),
        "sentiment.npz": save(args.out / "sentiment.npz", train_sentiment(splits.sentiment_train)),
        "kind.npz": save(
            args.out / "kind.npz", train_head("kind", splits.kind_train, uses_chars=True, c=8.0)
        ),
        "intent.npz": save(
            args.out / "intent.npz",
            train_head("intent", splits.intent_train, uses_chars=False, c=16.0, min_count=2),
        ),
    }
    for name, size in sizes.items():
        print(f"  wrote {name}: {size / 1e6:.2f} MB")
    digest = hashlib.sha256()
    for name in sizes:
        digest.update((args.out / name).read_bytes())
    manifest = {
        # A content hash, not a date: a rebuild from the same data gives the same id.
        "model_id": digest.hexdigest()[:16],
        "seed": SEED,
        "files": sizes,
        "sources": SOURCES,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"built model {manifest['model_id']} in {time.perf_counter() - t0:.0f}s")
    if not evaluate:
        return 0
    print("evaluating on held-out splits")
    sys.path.insert(0, str(ROOT / "bench"))
    from triage import evaluate_quality  # bench/triage.py

    from caredesk.triage import Triager

    report = evaluate_quality(Triager.load(args.out), splits)
    for k, v in report.items():
        print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
