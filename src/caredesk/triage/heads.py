"""Linear classifiers over hashed text features (sentiment, kind, intent).

A head stores only the features seen in training: sorted CRC-32 keys and one weight row per
key. Unknown features are ignored. The input vector is binary-ish (counts) scaled by
1/sqrt(n_features), which the training script reproduces exactly. A head may also carry a
polarity lexicon (the sentiment head does): its cue features are added to the post's own.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from caredesk.triage.keys import as_hashes, check_sorted_unique, find_rows
from caredesk.triage.text import Lexicon, Prepared, cue_hashes

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LinearHead:
    name: str
    classes: tuple[str, ...]
    keys: npt.NDArray[np.uint32]
    weights: npt.NDArray[np.floating[Any]]  # [V, C]
    bias: F32  # [C]
    uses_chars: bool
    lexicon: Lexicon | None = None

    @classmethod
    def from_npz(cls, name: str, data: Mapping[str, npt.NDArray[np.generic]]) -> LinearHead:
        keys = np.asarray(data["keys"], dtype=np.uint32)
        weights = np.asarray(data["weights"])
        classes = tuple(str(c) for c in data["classes"])
        if weights.shape != (len(keys), len(classes)):
            raise ValueError(f"model file for {name!r} is inconsistent: {weights.shape}")
        check_sorted_unique(keys, f"model file for {name!r}")
        return cls(
            name=name,
            classes=classes,
            keys=keys,
            weights=weights,
            bias=np.asarray(data["bias"], dtype=np.float32),
            uses_chars=bool(np.asarray(data["uses_chars"]).item()),
            lexicon=_lexicon(data),
        )

    def select(
        self, word_level: Sequence[int], char_level: Sequence[int], p: Prepared | None = None
    ) -> list[int]:
        out = [*word_level, *char_level] if self.uses_chars else list(word_level)
        if self.lexicon is not None and p is not None:
            out.extend(cue_hashes(p, self.lexicon))
        return out

    def rows(self, hashes: npt.NDArray[np.uint32]) -> npt.NDArray[np.intp]:
        """Row index per hash, -1 where the feature is unknown."""
        return find_rows(self.keys, hashes)

    def raw_scores(self, hashes: Sequence[int]) -> F32:
        """Weight sum of the known features, before scaling and bias."""
        if not hashes:
            return np.zeros(len(self.classes), dtype=np.float32)
        return sum_rows(self.weights, self.rows(as_hashes(hashes)))

    def raw_scores_many(self, batch: Sequence[Sequence[int]]) -> F32:
        """Batch version: one searchsorted and one reduceat for all posts."""
        lengths = np.fromiter((len(b) for b in batch), dtype=np.intp, count=len(batch))
        flat = np.fromiter((h for b in batch for h in b), dtype=np.uint32, count=int(lengths.sum()))
        return sum_segments(self.weights, self.rows(flat), lengths)


_FIRST = np.zeros(1, dtype=np.intp)


def sum_rows(weights: npt.NDArray[np.floating[Any]], rows: npt.NDArray[np.integer[Any]]) -> F32:
    """One post's weight sum (-1 rows add nothing), computed exactly as ``sum_segments``
    computes it within a batch -- same values, same order, same reduction -- so a post gets
    the very same scores alone (API) and in a batch (CLI, import). A plain ``sum`` differs
    from ``reduceat`` in the last bit for most posts."""
    if not len(rows):
        return np.zeros(weights.shape[1], dtype=np.float32)
    vals = _row_values(weights, rows)
    return np.asarray(np.add.reduceat(vals, _FIRST, axis=0)[0], dtype=np.float32)


def sum_segments(
    weights: npt.NDArray[np.floating[Any]],
    rows: npt.NDArray[np.integer[Any]],
    lengths: npt.NDArray[np.intp],
) -> F32:
    """Per post, the sum of its weight rows: ``rows`` holds the posts' rows one after the
    other (``lengths`` each), -1 for an unknown feature, which adds nothing."""
    out = np.zeros((len(lengths), weights.shape[1]), dtype=np.float32)
    if not len(rows):
        return out
    nonempty = lengths > 0
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[nonempty]
    out[nonempty] = np.add.reduceat(_row_values(weights, rows), starts, axis=0)
    return out


def _row_values(weights: npt.NDArray[np.floating[Any]], rows: npt.NDArray[np.integer[Any]]) -> F32:
    """The weight row of each feature as float32, zeros for an unknown one (-1)."""
    known = rows >= 0
    vals = np.zeros((len(rows), weights.shape[1]), dtype=np.float32)
    vals[known] = weights[rows[known]]
    return vals


@dataclass(frozen=True)
class HeadDelta:
    """A workspace's correction to one head: extra weight rows and a bias shift."""

    keys: npt.NDArray[np.uint32]
    weights: F32
    bias: F32

    def raw_scores(self, hashes: Sequence[int]) -> F32:
        if not hashes or not len(self.keys):
            return np.zeros(len(self.bias), dtype=np.float32)
        r = find_rows(self.keys, as_hashes(hashes))
        hit = r[r >= 0]
        return np.asarray(self.weights[hit].sum(axis=0, dtype=np.float32), dtype=np.float32)


def feature_norm(n: int) -> np.float32:
    """A post's weight sum is divided by sqrt(its feature count), as in training."""
    return np.float32(max(1.0, n) ** 0.5)


def feature_norms(n_selected: npt.NDArray[np.intp]) -> F32:
    """``feature_norm`` for a batch (the same float32 values)."""
    return np.sqrt(np.maximum(1, n_selected)).astype(np.float32)


@dataclass(frozen=True)
class ScoredHead:
    head: LinearHead
    delta: HeadDelta | None = None
    temperature: float = 1.0
    exclude: frozenset[str] = field(default_factory=frozenset)

    def probabilities(
        self, word_level: Sequence[int], char_level: Sequence[int], p: Prepared | None = None
    ) -> F32:
        hashes = self.head.select(word_level, char_level, p)
        return self.finish(self.head.raw_scores(hashes), hashes)

    def finish(self, raw: F32, hashes: Sequence[int]) -> F32:
        """Probabilities from the head's weight sum over ``hashes`` (plus this workspace's
        correction, if any), scaled by 1/sqrt(n) as in training."""
        bias = self.head.bias
        if self.delta is not None:
            raw = raw + self.delta.raw_scores(hashes)
            bias = bias + self.delta.bias
        return softmax(raw / feature_norm(len(hashes)) + bias)

    def base_top(self, raw: F32, hashes: Sequence[int]) -> int | None:
        """The top class without this workspace's correction; None when there is none."""
        if self.delta is None:
            return None
        return int(np.argmax(raw / feature_norm(len(hashes)) + self.head.bias))

    def base_tops(self, sums: F32, n_selected: npt.NDArray[np.intp]) -> list[int] | None:
        """``base_top`` for a batch, from its weight sums and feature counts."""
        if self.delta is None:
            return None
        logits = sums / feature_norms(n_selected)[:, None] + self.head.bias
        return [int(i) for i in np.argmax(logits, axis=1)]


class SharedLookup:
    """The heads' key tables merged into one sorted key list, so a post's features are
    looked up once rather than once per head. Binary search over the tables was the largest
    numpy cost of a triage; the sums it feeds are the very ones ``LinearHead.raw_scores``
    makes (same rows, same order), so results are identical.

    A post's hashes are laid out as words, then letter 3-grams, then the lexicon head's cues;
    each head sums the prefix it uses. A head whose features are not such a prefix (a second
    lexicon, or a lexicon without 3-grams) is looked up on its own, as before. Built once per
    model load (~2 MB: a row index per head and key)."""

    def __init__(self, heads: Sequence[LinearHead]) -> None:
        self.heads = tuple(heads)
        self.lexicon = next((h.lexicon for h in heads if h.lexicon and h.uses_chars), None)
        self._own = tuple(
            h.lexicon is not None and h.lexicon is not self.lexicon for h in self.heads
        )
        shared = [h.keys for h, own in zip(self.heads, self._own, strict=True) if not own]
        merged = np.unique(np.concatenate(shared)) if shared else np.zeros(0, np.uint32)
        self.keys = merged.astype(np.uint32)
        self._missing = len(self.keys)
        self.row_maps: list[npt.NDArray[np.int32]] = []
        for h, own in zip(self.heads, self._own, strict=True):
            rows = np.full(len(self.keys) + 1, -1, dtype=np.int32)
            if not own:
                rows[np.searchsorted(self.keys, h.keys)] = np.arange(len(h.keys), dtype=np.int32)
            self.row_maps.append(rows)

    def raw_scores(
        self, word_level: Sequence[int], char_level: Sequence[int], p: Prepared
    ) -> list[tuple[F32, list[int]]]:
        """Per head: its weight sum and the hashes it selected (for the 1/sqrt(n) scale and
        a workspace correction)."""
        hashes = [*word_level, *char_level]
        if self.lexicon is not None:
            hashes.extend(cue_hashes(p, self.lexicon))
        n_words, n_chars = len(word_level), len(word_level) + len(char_level)
        pos = find_rows(self.keys, as_hashes(hashes), self._missing)
        out: list[tuple[F32, list[int]]] = []
        for head, row_map, own in zip(self.heads, self.row_maps, self._own, strict=True):
            if own:
                selected = head.select(word_level, char_level, p)
                out.append((head.raw_scores(selected), selected))
                continue
            n = len(hashes) if head.lexicon is not None else n_chars if head.uses_chars else n_words
            out.append((sum_rows(head.weights, row_map[pos[:n]]), hashes[:n]))
        return out

    def raw_scores_many(
        self, groups: Sequence[tuple[list[int], list[int]]], prepared: Sequence[Prepared | None]
    ) -> list[tuple[F32, npt.NDArray[np.intp]]]:
        """Batch version, per head: the weight sums [posts, classes] and how many features
        each post selected -- the same sums ``LinearHead.raw_scores_many`` makes. A post
        that could not be prepared (None) has no lexicon cues."""
        lexicon = self.lexicon
        cues = [
            cue_hashes(p, lexicon) if lexicon is not None and p is not None else []
            for p in prepared
        ]
        parts = [(w, c, q) for (w, c), q in zip(groups, cues, strict=True)]
        # Per post: the lengths of its words, 3-grams and cues, in the order they are laid out.
        seg = np.array([[len(w), len(c), len(q)] for w, c, q in parts], dtype=np.intp)
        seg = seg.reshape(len(parts), 3)
        flat = [h for post in parts for part in post for h in part]
        pos = find_rows(self.keys, as_hashes(flat), self._missing)
        out: list[tuple[F32, npt.NDArray[np.intp]]] = []
        for head, row_map, own in zip(self.heads, self.row_maps, self._own, strict=True):
            if own:
                selected = [
                    head.select(w, c, p) for (w, c), p in zip(groups, prepared, strict=True)
                ]
                n_sel = np.array([len(x) for x in selected], dtype=np.intp)
                out.append((head.raw_scores_many(selected), n_sel))
                continue
            take = np.array([True, head.uses_chars, head.lexicon is not None])
            mask = np.repeat(np.tile(take, len(parts)), seg.ravel())
            lengths = seg[:, take].sum(axis=1)
            out.append((sum_segments(head.weights, row_map[pos[mask]], lengths), lengths))
        return out


def _lexicon(data: Mapping[str, npt.NDArray[np.generic]]) -> Lexicon | None:
    """The optional lexicon stored with a head: words joined by newlines, a valence and a
    flag byte (1 = emoji, 2 = anger) per word; optionally word clusters (words joined by
    newlines and a cluster id per word)."""
    if "lex_words" not in data:
        return None
    words = str(np.asarray(data["lex_words"]).item()).split("\n")
    valence = np.asarray(data["lex_valence"], dtype=np.float32)
    flags = np.asarray(data["lex_flags"], dtype=np.uint8)
    if not (len(words) == len(valence) == len(flags)):
        raise ValueError("model file lexicon is inconsistent")
    clusters: dict[str, int] = {}
    if "clu_words" in data:
        c_words = str(np.asarray(data["clu_words"]).item()).split("\n")
        c_ids = np.asarray(data["clu_ids"], dtype=np.int64)
        if len(c_words) != len(c_ids):
            raise ValueError("model file word clusters are inconsistent")
        clusters = {w: int(c) for w, c in zip(c_words, c_ids, strict=True)}
    return Lexicon(
        valence={w: float(v) for w, v in zip(words, valence, strict=True)},
        emoji=frozenset(w for w, f in zip(words, flags, strict=True) if f & 1),
        anger=frozenset(w for w, f in zip(words, flags, strict=True) if f & 2),
        clusters=clusters,
    )


def softmax(z: F32) -> F32:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=-1, keepdims=True), dtype=np.float32)


def load_npz(blob: bytes) -> dict[str, npt.NDArray[np.generic]]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def read_manifest(blob: bytes) -> dict[str, Any]:
    loaded = json.loads(blob.decode("utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError("manifest must be a JSON object")
    return loaded
