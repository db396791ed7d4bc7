"""The sentiment training helpers in scripts/train_triage.py, on small made-up data."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tt() -> ModuleType:
    pytest.importorskip("sklearn", reason="training needs the dev dependency scikit-learn")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_triage
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return train_triage


def test_offsets_fix_a_class_the_scores_undercall(tt: ModuleType) -> None:
    # Class 2 is always second best by a little: a bias of +0.3 recovers it.
    gold = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array(
        [[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 1.0, 0], [1.0, 0, 0.8], [0, 1.0, 0.8]]
    )
    assert tt.macro_f1_idx(gold, scores.argmax(1), 3) < 1.0
    off = tt.tune_offsets(scores, gold)
    assert off[0] == 0.0
    assert tt.macro_f1_idx(gold, (scores + off).argmax(1), 3) == 1.0


def test_offsets_stay_zero_when_nothing_is_gained(tt: ModuleType) -> None:
    gold = np.array([0, 1, 2])
    scores = np.eye(3) * 2.0
    assert tt.tune_offsets(scores, gold).tolist() == [0.0, 0.0, 0.0]


def test_temperature_softens_overconfident_scores(tt: ModuleType) -> None:
    gold = np.array([0, 0, 0, 1])
    scores = np.array([[10.0, 0.0], [10.0, 0.0], [10.0, 0.0], [10.0, 0.0]])
    assert tt.tune_temperature(scores, gold) > 1.0


def test_ensemble_is_one_linear_model_that_separates_easy_data(tt: ModuleType) -> None:
    from scipy.sparse import csr_matrix

    rng = np.random.default_rng(0)
    labels = np.array(["negative", "neutral", "positive"] * 40)
    x = rng.random((120, 6)) * 0.1
    for i, lab in enumerate(labels):
        x[i, ["negative", "neutral", "positive"].index(lab)] += 1.0
    w, b = tt.fit_ensemble(csr_matrix(x), labels, np.ones(120))
    assert w.shape == (6, 3) and b.shape == (3,)
    pred = np.array(["negative", "neutral", "positive"])[(x @ w + b).argmax(1)]
    assert (pred == labels).mean() == 1.0


def test_lexicon_keeps_single_words_and_the_emoji_seed(tt: ModuleType) -> None:
    pytest.importorskip("vaderSentiment", reason="the lexicon comes from vaderSentiment")
    lexicon, arrays = tt.load_lexicon()
    assert lexicon.valence["terrible"] < 0 < lexicon.valence["wonderful"]
    assert all(" " not in w for w in lexicon.valence)
    assert {"😡", "🤬"} <= lexicon.anger <= lexicon.emoji
    words = str(arrays["lex_words"].item()).split("\n")
    assert len(words) == len(arrays["lex_valence"]) == len(arrays["lex_flags"])


@pytest.fixture(scope="module")
def sent(tt: ModuleType) -> ModuleType:
    # tt put scripts/ on the import path long enough to load the triage_build package.
    return sys.modules["triage_build.sentiment"]


def test_column_scale_damps_common_features_and_letter_trigrams(tt: ModuleType) -> None:
    linear = sys.modules["triage_build.linear"]
    feats = [[1, 2, 3], [1, 2], [1, 4], [1, 4]]
    vocab = {1: 0, 2: 1, 3: 2, 4: 3}
    scale = linear.column_scale(feats, vocab, chars={4}, divisor=1.0, char_scale=0.5)
    assert scale[0] == 0.0  # in every row: says nothing
    assert scale[2] > scale[1] > 0.0  # rarer is weighed more
    assert scale[3] == pytest.approx(0.5 * scale[1])  # same df as feature 2, but a 3-gram


def test_scaled_fit_returns_weights_for_the_plain_design_matrix(
    tt: ModuleType, sent: ModuleType
) -> None:
    # Feature h+10 marks class h; feature 99 is in every post and must get no weight.
    labels = np.array(["negative", "neutral", "positive"] * 30)
    classes = ["negative", "neutral", "positive"]
    feats = [[classes.index(lab) + 10, 99, 50 + i % 7] for i, lab in enumerate(labels)]
    vocab, w, b = sent.fit_scaled(feats, labels, np.ones(len(labels)), chars=set())
    x = tt.design_matrix(feats, vocab)
    pred = np.array(classes)[np.asarray(x @ w + b).argmax(1)]
    assert (pred == labels).mean() == 1.0
    assert np.all(w[vocab[99]] == 0.0)


def test_other_sources_weigh_less_than_airline_tweets(sent: ModuleType) -> None:
    ex = sys.modules["triage_build.data"].Example
    rows = [ex("late again", "negative", 1.0, "airline"), ex("meh", "neutral", 1.0, "semeval")]
    weighted = sent.source_weighted(rows)
    assert weighted[0].weight == 1.0
    assert 0.0 < weighted[1].weight < 1.0
    assert [r.weight for r in rows] == [1.0, 1.0]  # the input rows are not changed
