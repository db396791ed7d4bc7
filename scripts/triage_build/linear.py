"""Shared helpers for the linear heads: hashed features, design matrices, fitting, tuning."""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

import numpy as np

from caredesk.triage.text import Lexicon, cue_hashes, prepare, word_groups
from triage_build.data import Example

SENT_C_LR = 4.0
SENT_C_SVM = 0.3
# Sentiment column scaling (chosen by 3-fold CV over the airline training rows, see
# docs/triage.md): a feature's column is its idf / SENT_IDF_DIVISOR, letter 3-grams times
# SENT_CHAR_SCALE. Frequent, weak features (most 3-grams) weigh less, rare telling ones
# more; the scale is folded into the stored weights, so run time is unchanged.
SENT_IDF_DIVISOR = 8.0
SENT_CHAR_SCALE = 0.5


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


def char_keys(texts: list[str]) -> set[int]:
    """Hashes of the letter 3-gram features of these texts (for the column scaling)."""
    out: set[int] = set()
    for t in texts:
        out.update(word_groups(prepare(t))[1])
    return out


def column_scale(
    feats: list[list[int]],
    vocab: dict[int, int],
    chars: set[int],
    divisor: float = SENT_IDF_DIVISOR,
    char_scale: float = SENT_CHAR_SCALE,
) -> np.ndarray:
    """Per-column factor: idf over ``feats`` / divisor, times char_scale for 3-grams."""
    df: Counter[int] = Counter()
    for f in feats:
        df.update(set(f))
    n = max(1, len(feats))
    scale = np.zeros(len(vocab))
    for h, j in vocab.items():
        idf = math.log(n / max(1, df[h])) if df[h] < n else 0.0
        scale[j] = idf / divisor * (char_scale if h in chars else 1.0)
    return scale


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
