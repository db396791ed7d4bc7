"""The merged key table gives each head exactly the sums its own table gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caredesk.triage import Triager
from caredesk.triage.heads import LinearHead, SharedLookup
from caredesk.triage.text import Lexicon, prepare, word_groups

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


def test_triage_probabilities_match_the_per_head_path(triager: Triager) -> None:
    for text in _texts():
        p = prepare(text)
        words, chars = word_groups(p)
        merged = triager.lookup.raw_scores(words, chars, p)
        for sh, (raw, hashes) in zip(
            (triager.sentiment, triager.kind, triager.intent), merged, strict=True
        ):
            assert np.array_equal(sh.finish(raw, hashes), sh.probabilities(words, chars, p))


def test_a_workspace_triager_shares_the_base_lookup(triager: Triager) -> None:
    from caredesk.triage.adjustment import Adjustment

    adjusted = triager.with_adjustment(Adjustment(base_model=triager.model_id))
    assert adjusted.lookup is triager.lookup


def _head(name: str, keys: list[int], lexicon: Lexicon | None, chars: bool) -> LinearHead:
    return LinearHead(
        name=name,
        classes=("a", "b"),
        keys=np.array(sorted(keys), dtype=np.uint32),
        weights=np.ones((len(keys), 2), dtype=np.float16),
        bias=np.zeros(2, dtype=np.float32),
        uses_chars=chars,
        lexicon=lexicon,
    )


def test_two_lexicon_heads_are_refused() -> None:
    lex = Lexicon(valence={"good": 2.0}, emoji=frozenset(), anger=frozenset())
    with pytest.raises(ValueError, match="at most one head"):
        SharedLookup((_head("s", [1], lex, True), _head("t", [2], lex, True)))


def test_heads_without_keys_score_zero() -> None:
    lookup = SharedLookup((_head("k", [], None, False), _head("i", [], None, True)))
    p = prepare("my parcel is late")
    words, chars = word_groups(p)
    for raw, _ in lookup.raw_scores(words, chars, p):
        assert not raw.any()
