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
