"""Text retrieval for suggestions and the knowledge base: numpy only, in memory.

Texts become weighted features: words, 5-letter prefixes of long Latin words (cheap stemming:
"cancel", "cancelled", "cancellation"), word pairs, and cross-language concepts from
:mod:`caredesk.replies.lexicon`. Documents are TF-IDF vectors (sublinear tf, L2-normalised) in
an inverted index keyed by a stable 64-bit hash of each feature; a query is a cosine over the
postings of its features. The arrays can be saved and memory-mapped (see ``suggest_index``).

Past replies are then ranked by *consensus* (:func:`rank_by_consensus`): the nearest solved
conversations vote for their replies, near-duplicate replies pool their votes, so the answer
that resolved many similar cases ranks above a one-off.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from caredesk.replies.lexicon import STOPWORDS, build_index

MAX_TEXT_CHARS = 4000
_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_MENTION_RE = re.compile(r"(?<!\w)@\w+")
# Word characters plus the combining marks of Indic and Arabic scripts (which \w leaves out),
# without the danda and Arabic punctuation.
_TOKEN_RE = re.compile(
    r"[\w\u0900-\u0963\u0966-\u0DFF\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u200c\u200d]+"
)
_ARABIC_FOLD = str.maketrans({"\u064a": "\u06cc", "\u0643": "\u06a9", "\u0629": "\u06c3"})
_DROP_MARKS = re.compile(r"[\u093c\u064b-\u065f\u0670\u200c\u200d]")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return frozenset(_norm_word(w) for w in STOPWORDS)


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    words, pairs = build_index()
    return {_norm_word(w): c for w, c in words.items()}, {
        (_norm_word(a), _norm_word(b)): c for (a, b), c in pairs.items()
    }


@lru_cache(maxsize=200_000)
def _norm_word(word: str) -> str:
    return _DROP_MARKS.sub("", word.casefold().translate(_ARABIC_FOLD))


def tokens(text: str) -> list[str]:
    """Normalised words of a text; links, @mentions and long numbers dropped. Never raises."""
    if not isinstance(text, str) or not text:
        return []
    text = unicodedata.normalize("NFC", text[:MAX_TEXT_CHARS])
    text = _MENTION_RE.sub(" ", _URL_RE.sub(" ", text))
    out = []
    for raw in _TOKEN_RE.findall(text):
        w = _norm_word(raw).strip("_")
        if not w or (w.isdigit() and len(w) > 3):
            continue
        out.append(w)
    return out


def features(text: str) -> dict[str, float]:
    words = tokens(text)
    feats: defaultdict[str, float] = defaultdict(float)
    single, pairs = _lexicon()
    stop = _stopwords()
    for i, w in enumerate(words):
        if w not in stop:
            feats[w] += 1.0
        if len(w) >= 6 and w.isascii() and w.isalpha():
            feats["~" + w[:5]] += 0.5
        concept = single.get(w)
        if concept:
            feats["@" + concept] += 1.0
        if i + 1 < len(words):
            nxt = words[i + 1]
            feats[w + " " + nxt] += 0.5
            concept = pairs.get((w, nxt))
            if concept:
                feats["@" + concept] += 1.0
    return feats


def feature_key(feature: str) -> int:
    """A stable 64-bit key per feature (Python's own hash changes per process, so a saved
    index could not be read back with it). Collisions at 64 bits are negligible."""
    return _feature_key(feature)


@lru_cache(maxsize=200_000)
def _feature_key(feature: str) -> int:
    digest = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


@lru_cache(maxsize=1024)
def query_features(text: str) -> Mapping[str, float]:
    """:func:`features` of a text that is looked at again and again (the customer's words are
    matched against the past, the canned set, articles and every 'why'), read-only."""
    return MappingProxyType(features(text))


@dataclass(frozen=True)
class Hit:
    doc: int
    score: float


_ARRAYS = ("keys", "idf", "df", "starts", "post_docs", "post_w")


class TextIndex:
    """Cosine TF-IDF over an inverted index keyed by :func:`feature_key` (sorted, so a lookup is
    a binary search and the arrays can be saved and memory-mapped as they are). Immutable once
    built; safe to share between threads, and through the page cache between processes."""

    def __init__(
        self,
        keys: npt.NDArray[np.int64],
        idf: npt.NDArray[np.float32],
        df: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
        post_docs: npt.NDArray[np.int32],
        post_w: npt.NDArray[np.float32],
        n_docs: int,
    ) -> None:
        self.keys = keys
        self.idf = idf
        self.df = df
        self.starts = starts
        self.post_docs = post_docs
        self.post_w = post_w
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: Iterable[str], *, weights_from: TextIndex | None = None) -> TextIndex:
        """Index ``texts``. With ``weights_from`` the idf comes from that (bigger) index, so
        scores of a small delta index compare with the big one's."""
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        doc_ids: list[int] = []
        raw: list[float] = []
        n = 0
        for n, text in enumerate(texts, start=1):
            for feat, count in features(text).items():
                tid = vocab.setdefault(feat, len(vocab))
                term_ids.append(tid)
                doc_ids.append(n - 1)
                raw.append(count)
        unsorted = np.fromiter((feature_key(f) for f in vocab), dtype=np.int64, count=len(vocab))
        by_key = np.argsort(unsorted, kind="stable")
        remap = np.empty(len(vocab), dtype=np.int64)
        remap[by_key] = np.arange(len(vocab), dtype=np.int64)
        keys = unsorted[by_key]
        t = remap[np.asarray(term_ids, dtype=np.int64)]
        d = np.asarray(doc_ids, dtype=np.int32)
        c = np.asarray(raw, dtype=np.float32)
        df = np.bincount(t, minlength=len(vocab)).astype(np.int64)
        if weights_from is None:
            idf = (np.log((n + 1) / (df + 1)) + 1.0).astype(np.float32)
        else:
            idf = weights_from.idf_of(keys)
        # Sub-linear tf; pair/stem features carry their 0.5 weight through the count.
        w = np.where(c >= 1, 1.0 + np.log(np.maximum(c, 1.0)), c).astype(np.float32) * idf[t]
        norms = np.sqrt(np.bincount(d, weights=w * w, minlength=n)).astype(np.float32)
        w = w / np.maximum(norms[d], 1e-9)
        order = np.argsort(t, kind="stable")
        starts = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=starts[1:])
        return cls(keys, idf, df, starts, d[order], w[order].astype(np.float32), n)

    def term_ids(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Position of each key in the index, -1 where the index does not have it."""
        if len(self.keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, pos, -1).astype(np.int64)

    def idf_of(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        tids = self.term_ids(keys)
        unseen = math.log(self.n_docs + 1) + 1.0  # df = 0
        known = self.idf[np.maximum(tids, 0)] if len(self.keys) else np.zeros(len(keys))
        return np.where(tids >= 0, known, unseen).astype(np.float32)

    def query_vector(
        self, text: str, *, max_df_share: float = 0.4, keep_unknown: bool = False
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The query's features (keys) and their unit-length weights, with this index's idf.
        Features in almost every document say nothing and cost the most; they are left out.
        ``keep_unknown`` keeps features this index lacks (at the idf of an unseen feature) for
        a delta index built with ``weights_from=self``."""
        feats = query_features(text)
        if self.n_docs == 0 or not feats:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        keys = np.fromiter((feature_key(f) for f in feats), dtype=np.int64, count=len(feats))
        counts = np.fromiter(feats.values(), dtype=np.float32, count=len(feats))
        tids = self.term_ids(keys)
        limit = max(50, int(max_df_share * self.n_docs))
        known = tids >= 0
        keep = known.copy()
        keep[known] = self.df[tids[known]] <= limit
        if keep_unknown:
            keep |= ~known
        if not keep.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        tf = np.where(counts >= 1, 1.0 + np.log(np.maximum(counts, 1.0)), counts)
        q = (tf[keep] * self.idf_of(keys[keep])).astype(np.float32)
        q /= max(float(np.linalg.norm(q)), 1e-9)
        return keys[keep], q

    def search(
        self, keys: npt.NDArray[np.int64], q: npt.NDArray[np.float32], k: int = 50
    ) -> list[Hit]:
        """The ``k`` documents with the highest dot product with the query vector."""
        if self.n_docs == 0 or len(keys) == 0:
            return []
        tids = self.term_ids(keys)
        docs, vals = [], []
        for j, i in enumerate(tids.tolist()):
            if i < 0:
                continue
            lo, hi = int(self.starts[i]), int(self.starts[i + 1])
            docs.append(self.post_docs[lo:hi])
            vals.append(self.post_w[lo:hi] * q[j])
        if not docs:
            return []
        scores = np.bincount(
            np.concatenate(docs), weights=np.concatenate(vals), minlength=self.n_docs
        )
        k = min(k, self.n_docs)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Hit(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def query(self, text: str, k: int = 50, *, max_df_share: float = 0.4) -> list[Hit]:
        keys, q = self.query_vector(text, max_df_share=max_df_share)
        return self.search(keys, q, k)

    def save(self, directory: Path) -> None:
        """One .npy file per array, so :meth:`load` can memory-map them."""
        directory.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(directory / f"{name}.npy", np.ascontiguousarray(getattr(self, name)))

    @classmethod
    def load(cls, directory: Path, n_docs: int) -> TextIndex:
        """Memory-mapped: loading is instant and processes share the pages."""
        arrays: dict[str, Any] = {
            name: np.load(directory / f"{name}.npy", mmap_mode="r") for name in _ARRAYS
        }
        return cls(n_docs=n_docs, **arrays)


def word_set(text: str) -> frozenset[str]:
    return frozenset(tokens(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


@dataclass(frozen=True)
class Ranked:
    """One distinct reply: the best example of it, and the neighbours that voted for it."""

    doc: int
    score: float
    similarity: float
    votes: tuple[int, ...]


def rank_by_consensus(
    hits: Sequence[Hit],
    reply_words: Sequence[frozenset[str]],
    *,
    k: int = 5,
    same_answer: float = 0.5,
    pooled_weight: float = 0.5,
) -> list[Ranked]:
    """Group neighbours whose replies are near-duplicates (word Jaccard >= ``same_answer``);
    a group scores its best similarity plus ``pooled_weight`` times the others'."""
    groups: list[list[Hit]] = []
    heads: list[frozenset[str]] = []
    for hit in hits:
        words = reply_words[hit.doc]
        n = len(words)
        for g, head in enumerate(heads):
            # Jaccard <= smaller/larger size: most pairs are ruled out without a set operation.
            m = len(head)
            if min(n, m) < same_answer * max(n, m):
                continue
            if jaccard(words, head) >= same_answer:
                groups[g].append(hit)
                break
        else:
            groups.append([hit])
            heads.append(words)
    ranked = [
        Ranked(
            doc=g[0].doc,
            score=g[0].score + pooled_weight * sum(h.score for h in g[1:]),
            similarity=g[0].score,
            votes=tuple(h.doc for h in g),
        )
        for g in groups
    ]
    ranked.sort(key=lambda r: -r.score)
    return ranked[:k]
