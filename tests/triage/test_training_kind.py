"""The kind build (mix, noise threshold) and the unsupervised word clusters, on made-up data."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from tests.triage.build_modules import build_module


@pytest.fixture(scope="module")
def kind() -> ModuleType:
    return build_module("kind")


@pytest.fixture(scope="module")
def clusters() -> ModuleType:
    return build_module("clusters")


# classes: care, engagement, noise, sales
def _scores(rows: list[tuple[float, float]]) -> np.ndarray:
    return np.array([[c, 0.0, n, -5.0] for c, n in rows])


def test_noise_offset_recovers_noise_the_scores_undercall(kind: ModuleType) -> None:
    # Noise rows score a little below care; care rows are far ahead: +0.3 on noise fixes it.
    gold = np.array([0] * 20 + [2] * 5)
    scores = _scores([(1.0, 0.0)] * 20 + [(1.0, 0.8)] * 5)
    off = kind.tune_noise_offset(scores, gold)
    assert 0.2 < off <= 1.0
    shifted = scores.copy()
    shifted[:, 2] += off
    assert (shifted.argmax(1) == gold).all()


def test_noise_offset_never_costs_more_care_than_allowed(kind: ModuleType) -> None:
    # 1 of 20 care rows sits where the noise rows do: catching the noise would lose 5 % of
    # care, more than CARE_LOSS, so the threshold stays put.
    gold = np.array([0] * 19 + [0] + [2] * 5)
    scores = _scores([(1.0, 0.0)] * 19 + [(1.0, 0.8)] + [(1.0, 0.8)] * 5)
    assert kind.tune_noise_offset(scores, gold) <= 0.0


def test_kind_mix_caps_banking_and_weights_out_of_scope_up(kind: ModuleType) -> None:
    from triage_build.data import Example

    rows = [Example(f"bank {i}", "care", 0.3, "banking77") for i in range(3000)]
    rows += [Example("what is the weather on mars", "noise", 1.0, "clinc_oos")]
    rows += [Example("set a timer", "noise", 0.5, "clinc")]
    mixed = kind.kind_mix(rows)
    assert sum(e.source == "banking77" for e in mixed) == kind.BANKING_KIND_ROWS
    weights = {e.source: e.weight for e in mixed if e.source != "banking77"}
    assert weights == {"clinc_oos": kind.OOS_WEIGHT, "clinc": kind.CLINC_NOISE_WEIGHT}
    assert rows[-1].weight == 0.5  # inputs untouched


def test_words_used_alike_share_a_cluster(clusters: ModuleType) -> None:
    texts = []
    for i in range(40):
        texts.append(f"my flight was delayed again today number{i % 4}")
        texts.append(f"my flight was cancelled again today number{i % 4}")
        texts.append(f"thanks so much you are great friend{i % 4}")
        texts.append(f"thanks so much you are awesome friend{i % 4}")
    got = clusters.build_word_clusters(texts, n_clusters=4, dims=3)
    assert got["delayed"] == got["cancelled"]
    assert got["great"] == got["awesome"]
    assert got["delayed"] != got["great"]
    assert got == clusters.build_word_clusters(texts, n_clusters=4, dims=3)  # reproducible


def test_care_intent_override_lets_the_threshold_catch_noise(kind: ModuleType) -> None:
    # Bank questions score like the noise rows, but the intent head is sure of a care
    # intent: with the override the offset can catch the noise without losing them.
    gold = np.array([0] * 20 + [0] * 20 + [2] * 10)
    groups = np.array([0] * 20 + [1] * 20 + [0] * 10)
    scores = _scores([(1.0, 0.8)] * 20 + [(1.0, 0.0)] * 20 + [(1.0, 0.8)] * 10)
    care_top = np.array([0.9] * 20 + [0.0] * 20 + [0.0] * 10)
    assert kind.tune_noise_offset(scores, gold) <= 0.0  # alone it would bury bank questions
    off, care_min = kind.tune_kind_thresholds(scores, gold, groups, care_top)
    assert 0.2 < off <= 1.0 and 0.5 <= care_min <= 0.9
    assert (kind.kind_predictions(scores, off, care_top, care_min) == gold).all()


def test_care_loss_is_limited_per_source_not_only_overall(kind: ModuleType) -> None:
    # 200 rescued bank rows would hide one tweet (of 21) lost to noise in a pooled count.
    gold = np.array([0] * 200 + [0] * 21 + [2] * 10)
    groups = np.array([0] * 200 + [1] * 21 + [0] * 10)
    scores = _scores([(1.0, 0.8)] * 200 + [(1.0, 0.0)] * 20 + [(1.0, 0.8)] + [(1.0, 0.8)] * 10)
    care_top = np.array([0.9] * 200 + [0.0] * 21 + [0.0] * 10)
    off, _ = kind.tune_kind_thresholds(scores, gold, groups, care_top)
    assert off <= 0.0


def test_cross_fit_folds_score_every_out_of_scope_row_once(kind: ModuleType) -> None:
    from triage_build.data import Example, Splits

    s = Splits()
    s.kind_train = [Example(f"oos {i}", "noise", 1.0, "clinc_oos") for i in range(40)]
    s.kind_train += [Example(f"tweet {i}", "care", 0.7, "twcs") for i in range(50)]
    (fit1, tune1), (fit2, tune2) = kind.cross_fit_folds(s)
    oos1 = {e.text for e in tune1 if e.source == "clinc_oos"}
    oos2 = {e.text for e in tune2}
    assert len(oos1) == len(oos2) == 20 and not oos1 & oos2
    assert not oos1 & {e.text for e in fit1} and not oos2 & {e.text for e in fit2}
    assert {e.source for e in tune2} == {"clinc_oos"}
