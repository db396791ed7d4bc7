"""The merged key table gives each head exactly the sums its own table gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caredesk.triage import Triager
from caredesk.triage.heads import HeadDelta, LinearHead, ScoredHead, SharedLookup
from caredesk.triage.text import Lexicon, Prepared, cue_hashes, prepare, word_groups

HANDWRITTEN = Path(__file__).parent / "data" / "multilingual_handwritten.tsv"
EXTRA = [
    "",
    "😡😡😡",
    "http://example.com @someone",
    "not good at all, flight UA1469 delayed 3 hours :(",
    "Hvornår kommer min pakke?",
    "x" * 3000,
]


def _texts() -> list[str]:
    lines = HANDWRITTEN.read_text(encoding="utf-8").splitlines()[1:]
    return EXTRA + [ln.split("\t")[-1] for ln in lines if ln]


def test_each_head_gets_the_sum_and_hashes_of_its_own_lookup(triager: Triager) -> None:
    heads = (triager.sentiment.head, triager.kind.head, triager.intent.head)
    lookup = SharedLookup(heads)
    for text in _texts():
        p = prepare(text)
        words, chars = word_groups(p)
        for head, (raw, hashes) in zip(heads, lookup.raw_scores(words, chars, p), strict=True):
            own = head.select(words, chars, p)
            assert hashes == own, (head.name, text)
            assert np.array_equal(raw, head.raw_scores(own)), (head.name, text)


def _expected(sh: ScoredHead, words: list[int], chars: list[int], p: Prepared) -> np.ndarray:
    """Probabilities written out from the head's own table: the formula the model was
    trained with (weight sum / sqrt(n) + bias, plus a workspace's delta rows and bias)."""
    hashes = sh.head.select(words, chars, p)
    h = np.array(hashes, dtype=np.uint32)
    rows = [int(np.searchsorted(sh.head.keys, x)) for x in h]
    raw = np.zeros(len(sh.head.classes), dtype=np.float32)
    for x, r in zip(h, rows, strict=True):
        if r < len(sh.head.keys) and sh.head.keys[r] == x:
            raw += sh.head.weights[r].astype(np.float32)
    bias = sh.head.bias.copy()
    if sh.delta is not None:
        for x in h:
            r = int(np.searchsorted(sh.delta.keys, x))
            if r < len(sh.delta.keys) and sh.delta.keys[r] == x:
                raw += sh.delta.weights[r]
        bias = bias + sh.delta.bias
    z = raw / np.sqrt(max(1, len(hashes))) + bias
    e = np.exp(z - z.max())
    return e / e.sum()


def _delta_for(head: LinearHead, seed: int) -> HeadDelta:
    rng = np.random.default_rng(seed)
    keys = np.unique(np.concatenate([head.keys[::50], rng.integers(0, 2**32, 200)]))
    return HeadDelta(
        keys=keys.astype(np.uint32),
        weights=rng.normal(0, 0.5, (len(keys), len(head.classes))).astype(np.float32),
        bias=rng.normal(0, 0.3, len(head.classes)).astype(np.float32),
    )


@pytest.mark.parametrize("with_deltas", [False, True])
def test_triage_probabilities_follow_the_trained_formula(
    triager: Triager, with_deltas: bool
) -> None:
    heads = [triager.sentiment, triager.kind, triager.intent]
    if with_deltas:
        heads = [ScoredHead(sh.head, _delta_for(sh.head, i)) for i, sh in enumerate(heads)]
    lookup = triager.lookup
    for text in _texts():
        p = prepare(text)
        words, chars = word_groups(p)
        for sh, (raw, hashes) in zip(heads, lookup.raw_scores(words, chars, p), strict=True):
            got = sh.finish(raw, hashes)
            assert np.allclose(got, _expected(sh, words, chars, p), atol=1e-5), (sh.head.name, text)


def test_a_workspace_triager_shares_the_base_lookup(triager: Triager) -> None:
    from caredesk.triage.adjustment import Adjustment

    adjusted = triager.with_adjustment(Adjustment(base_model=triager.model_id))
    assert adjusted.lookup is triager.lookup


def _head(name: str, keys: list[int], lexicon: Lexicon | None, chars: bool) -> LinearHead:
    rng = np.random.default_rng(len(keys))
    return LinearHead(
        name=name,
        classes=("a", "b"),
        keys=np.array(sorted(set(keys)), dtype=np.uint32),
        weights=rng.normal(0, 1, (len(set(keys)), 2)).astype(np.float16),
        bias=np.zeros(2, dtype=np.float32),
        uses_chars=chars,
        lexicon=lexicon,
    )


def _all_hashes(text: str, lexicon: Lexicon) -> list[int]:
    p = prepare(text)
    words, chars = word_groups(p)
    return [*words, *chars, *cue_hashes(p, lexicon)]


def test_heads_that_do_not_fit_the_shared_layout_are_looked_up_on_their_own() -> None:
    """A second lexicon head and a lexicon head without letter 3-grams still score
    exactly as alone."""
    texts = ["not good at all :(", "great service, thanks", "my parcel is late"]
    lex_a = Lexicon(valence={"good": 2.0, "great": 3.0}, emoji=frozenset(), anger=frozenset())
    lex_b = Lexicon(valence={"late": -1.5}, emoji=frozenset(), anger=frozenset())
    pool = [h for t in texts for h in _all_hashes(t, lex_a) + _all_hashes(t, lex_b)]
    heads = (
        _head("first", pool[::2], lex_a, True),
        _head("second", pool[1::2], lex_b, True),
        _head("no_chars", pool[::3], lex_b, False),
        _head("plain", pool[::5], None, False),
    )
    lookup = SharedLookup(heads)
    for text in texts:
        p = prepare(text)
        words, chars = word_groups(p)
        for head, (raw, hashes) in zip(heads, lookup.raw_scores(words, chars, p), strict=True):
            own = head.select(words, chars, p)
            assert hashes == own, head.name
            assert np.array_equal(raw, head.raw_scores(own)), head.name
            assert raw.any(), head.name  # each head knows some of the post's features


def test_a_head_without_keys_beside_one_with_keys() -> None:
    p = prepare("my parcel is late")
    words, chars = word_groups(p)
    full = _head("full", words + chars, None, True)
    empty = _head("empty", [], None, True)
    (raw_empty, _), (raw_full, hashes) = SharedLookup((empty, full)).raw_scores(words, chars, p)
    assert not raw_empty.any()
    assert np.array_equal(raw_full, full.raw_scores(hashes))
    assert raw_full.any()


def test_a_model_file_with_unsorted_keys_is_refused() -> None:
    data = {
        "keys": np.array([5, 3], dtype=np.uint32),
        "weights": np.zeros((2, 2), dtype=np.float16),
        "bias": np.zeros(2, dtype=np.float32),
        "classes": np.array(["a", "b"]),
        "uses_chars": np.array(True),
    }
    with pytest.raises(ValueError, match="not sorted and unique"):
        LinearHead.from_npz("kind", data)
    data["keys"] = np.array([3, 3], dtype=np.uint32)
    with pytest.raises(ValueError, match="not sorted and unique"):
        LinearHead.from_npz("kind", data)


def test_batch_sums_equal_each_heads_own_batch_sums(triager: Triager) -> None:
    heads = (triager.sentiment.head, triager.kind.head, triager.intent.head)
    prepared: list[Prepared | None] = [prepare(t) for t in _texts()]
    prepared.insert(3, None)  # a post that could not be prepared
    groups = [word_groups(p) if p is not None else ([], []) for p in prepared]
    merged = triager.lookup.raw_scores_many(groups, prepared)
    for head, (sums, n_selected) in zip(heads, merged, strict=True):
        selected = [head.select(w, c, p) for (w, c), p in zip(groups, prepared, strict=True)]
        assert n_selected.tolist() == [len(s) for s in selected], head.name
        assert np.array_equal(sums, head.raw_scores_many(selected)), head.name


def test_batch_sums_for_heads_looked_up_on_their_own() -> None:
    lex_a = Lexicon(valence={"good": 2.0}, emoji=frozenset(), anger=frozenset())
    lex_b = Lexicon(valence={"late": -1.5}, emoji=frozenset(), anger=frozenset())
    texts = ["not good at all :(", "", "my parcel is late"]
    pool = [h for t in texts for h in _all_hashes(t, lex_a) + _all_hashes(t, lex_b)]
    heads = (_head("first", pool[::2], lex_a, True), _head("second", pool[1::2], lex_b, False))
    prepared: list[Prepared | None] = [prepare(t) for t in texts]
    groups = [word_groups(p) for p in prepared if p is not None]
    merged = SharedLookup(heads).raw_scores_many(groups, prepared)
    for head, (sums, _) in zip(heads, merged, strict=True):
        selected = [head.select(w, c, p) for (w, c), p in zip(groups, prepared, strict=True)]
        assert np.array_equal(sums, head.raw_scores_many(selected)), head.name


def test_an_empty_batch() -> None:
    lookup = SharedLookup((_head("k", [1, 2], None, True),))
    ((sums, n_selected),) = lookup.raw_scores_many([], [])
    assert sums.shape == (0, 2)
    assert n_selected.shape == (0,)


def test_a_post_scores_the_same_alone_and_in_a_batch(triager: Triager) -> None:
    texts = _texts()
    one_by_one = [triager.triage(t) for t in texts]
    assert triager.triage_many(texts) == one_by_one


def test_single_and_batch_weight_sums_are_bit_identical(triager: Triager) -> None:
    """Not just the labels: the sums themselves (a plain sum and reduceat differ in the
    last bit for most posts, which now and then moves a rounded score)."""
    prepared: list[Prepared | None] = [prepare(t) for t in _texts()]
    groups = [word_groups(p) for p in prepared if p is not None]
    batch = triager.lookup.raw_scores_many(groups, prepared)
    for i, ((w, c), p) in enumerate(zip(groups, prepared, strict=True)):
        assert p is not None
        single = triager.lookup.raw_scores(w, c, p)
        for (raw, _), (sums, _) in zip(single, batch, strict=True):
            assert np.array_equal(raw, sums[i]), _texts()[i]


def test_a_workspace_with_corrections_scores_the_same_alone_and_in_a_batch(
    triager: Triager,
) -> None:
    from caredesk.triage.adjustment import Adjustment

    heads = {"sentiment": triager.sentiment.head, "kind": triager.kind.head}
    adjusted = triager.with_adjustment(
        Adjustment(
            base_model=triager.model_id,
            deltas={n: _delta_for(h, i) for i, (n, h) in enumerate(heads.items())},
            classes={n: h.classes for n, h in heads.items()},
        )
    )
    texts = _texts()
    assert adjusted.triage_many(texts) == [adjusted.triage(t) for t in texts]
