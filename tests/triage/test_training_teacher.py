"""Distillation inputs for the sentiment head: the fixed variants of the airline tweets and the
teacher's committed labels for them (scripts/triage_build/augment.py and teacher.py)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tests.triage.build_modules import ROOT, build_module


@pytest.fixture(scope="module")
def augment() -> ModuleType:
    return build_module("augment")


@pytest.fixture(scope="module")
def teacher() -> ModuleType:
    return build_module("teacher")


def _rows() -> list[Any]:
    data = build_module("data")
    return [
        data.Example("@united my bag is lost again and nobody answers", "negative", 1.0, "airline"),
        data.Example("good tweet from another place", "positive", 1.0, "semeval"),
        data.Example(
            "@JetBlue thanks for the upgrade, lovely crew today", "positive", 1.0, "airline"
        ),
    ]


def test_variants_are_the_same_on_every_run_and_remember_their_tweet(augment: ModuleType) -> None:
    first = augment.airline_variants(_rows())
    again = augment.airline_variants(_rows())
    assert [v.text for v in first] == [v.text for v in again]
    assert len(first) == 2 * augment.VARIANTS  # only the airline tweets are varied
    assert {v.origin for v in first[: augment.VARIANTS]} == {0}
    assert {v.origin for v in first[augment.VARIANTS :]} == {1}
    words_of_origin = set(_rows()[0].text.split())
    for v in first[: augment.VARIANTS]:
        kept = {w for w in v.text.split() if not w.startswith("@")}
        assert kept <= words_of_origin  # dropped, cropped or swapped; never invented


def _write_labels(path: Path, augment: ModuleType, probs: np.ndarray, texts: list[str]) -> None:
    np.savez_compressed(
        path,
        probs=probs.astype(np.float16),
        classes=np.array(["negative", "neutral", "positive"]),
        digest=np.array(augment.texts_digest(texts)),
    )


def test_teacher_rows_are_soft_labels_weighted_by_probability(
    augment: ModuleType, teacher: ModuleType, tmp_path: Path
) -> None:
    variants = augment.airline_variants(_rows())
    probs = np.tile([0.7, 0.28, 0.02], (len(variants), 1))
    path = tmp_path / "labels.npz"
    _write_labels(path, augment, probs, [v.text for v in variants])
    rows, origins = teacher.teacher_rows(_rows(), path)
    # The 2 % class is below MIN_PROB and is left out: two rows per variant.
    assert len(rows) == 2 * len(variants) == len(origins)
    assert {r.label for r in rows} == {"negative", "neutral"}
    neg = [r.weight for r in rows if r.label == "negative"]
    assert neg == pytest.approx([0.7 * teacher.WEIGHT] * len(variants), abs=1e-3)
    assert origins[:2] == [0, 0] and origins[-1] == 1


def test_labels_made_from_other_variants_are_refused(
    augment: ModuleType, teacher: ModuleType, tmp_path: Path
) -> None:
    variants = augment.airline_variants(_rows())
    path = tmp_path / "labels.npz"
    texts = [v.text for v in variants]
    texts[0] = texts[0] + " changed"
    _write_labels(path, augment, np.full((len(variants), 3), 1 / 3), texts)
    with pytest.raises(SystemExit, match="other variants"):
        teacher.teacher_rows(_rows(), path)


def test_missing_labels_stop_the_build(teacher: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no sentiment teacher labels"):
        teacher.teacher_rows(_rows(), tmp_path / "absent.npz")


def test_a_fold_holds_out_the_variants_of_its_tweets() -> None:
    sentiment = build_module("sentiment")
    examples = _rows()  # semeval at index 1: variant origins count airline tweets only
    made_from = sentiment.variant_sources(examples, [0, 0, 1, 1])
    assert made_from == [0, 0, 2, 2]
    n_human = len(examples)
    held = sentiment.held_out_rows({2}, made_from, n_human)
    assert held == {2, n_human + 2, n_human + 3}


def test_committed_labels_are_whole_probability_rows_for_whole_tweets(
    augment: ModuleType, teacher: ModuleType
) -> None:
    labels = np.load(teacher.LABELS_PATH)
    probs = labels["probs"].astype(np.float32)
    assert [str(c) for c in labels["classes"]] == ["negative", "neutral", "positive"]
    assert probs.ndim == 2 and probs.shape[1] == 3
    assert len(probs) > 0 and len(probs) % augment.VARIANTS == 0  # every tweet's variants
    assert np.allclose(probs.sum(1), 1.0, atol=0.01)
    assert len(str(labels["digest"])) == 64  # a SHA-256 of the variant texts


SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.mark.skipif(
    not (SHARED_DATA / "README.md").exists(),
    reason=f"the public training data is not beside the repository ({SHARED_DATA})",
)
def test_committed_labels_match_the_variants_of_the_training_split(teacher: ModuleType) -> None:
    splits = build_module("data").load_splits(SHARED_DATA)
    rows, origins = teacher.teacher_rows(splits.sentiment_train)  # raises on a mismatch
    assert rows and len(rows) == len(origins)
