"""Word clusters learnt without labels from in-domain text, for the sentiment head.

PPMI over a +-4-word window, truncated SVD to 100 dimensions, then k-means into 256 clusters
of the unit-length word vectors. Each post gets one extra sparse feature per known word
("k:<cluster>"), so a word seen in few labelled tweets borrows the weight of its cluster.
Only the word -> cluster map ships (a few thousand words, ~30 kB), not the vectors: on the
validation split the clusters helped the linear head where the mean word vector did not
(see docs/triage.md).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from caredesk.triage.text import prepare

MAX_WORDS = 6000
MIN_COUNT = 3
WINDOW = 4
DIMS = 100
N_CLUSTERS = 256


def unlabelled_texts(data: Path, extra: list[str]) -> list[str]:
    """Every TWCS tweet (customers and brands) plus the given training texts; labels unused."""
    with (data / "twcs" / "twcs_random5000.csv").open(encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    return texts + extra


def build_word_clusters(
    texts: list[str], *, n_clusters: int = N_CLUSTERS, dims: int = DIMS, min_count: int = MIN_COUNT
) -> dict[str, int]:
    from scipy.sparse import coo_matrix, csr_matrix
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD

    docs = [prepare(t).words for t in texts]
    counts = Counter(w for d in docs for w in d)
    # Sorted by count, then word: a stable vocabulary for a byte-identical rebuild.
    ranked = sorted(
        ((n, w) for w, n in counts.items() if n >= min_count), key=lambda x: (-x[0], x[1])
    )
    vocab = [w for _, w in ranked[:MAX_WORDS]]
    index = {w: i for i, w in enumerate(vocab)}
    rows: list[int] = []
    cols: list[int] = []
    for d in docs:
        ids = [index.get(w, -1) for w in d]
        for i, a in enumerate(ids):
            if a < 0:
                continue
            for j in range(max(0, i - WINDOW), min(len(ids), i + WINDOW + 1)):
                if j != i and ids[j] >= 0:
                    rows.append(a)
                    cols.append(ids[j])
    co = (
        coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(vocab), len(vocab)))
        .tocsr()
        .tocoo()
    )  # sums duplicate pairs
    total = co.data.sum()
    p_word = np.asarray(co.sum(axis=1)).ravel() / total
    p_ctx = np.asarray(co.sum(axis=0)).ravel() ** 0.75  # context smoothing (Levy et al. 2015)
    p_ctx /= p_ctx.sum()
    pmi = np.log(co.data / total / (p_word[co.row] * p_ctx[co.col]))
    keep = pmi > 0
    ppmi = csr_matrix((pmi[keep], (co.row[keep], co.col[keep])), shape=co.shape)
    vectors = TruncatedSVD(dims, random_state=0).fit_transform(ppmi)
    vectors /= np.maximum(1e-9, np.linalg.norm(vectors, axis=1, keepdims=True))
    labels = KMeans(n_clusters, random_state=0, n_init=1).fit_predict(vectors)
    print(
        f"  word clusters: {len(texts)} unlabelled texts, {len(vocab)} words, {n_clusters} clusters"
    )
    return {w: int(c) for w, c in zip(vocab, labels, strict=True)}
