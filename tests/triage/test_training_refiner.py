"""The build's side of the sentiment refiner: the margin below which posts are refined, and
the committed refiner files taken into a build (scripts/triage_build/sentiment.py, output.py)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from caredesk.triage.refiner import RefinerSpec
from tests.triage.build_modules import ROOT, build_module


@pytest.fixture(scope="module")
def sentiment() -> ModuleType:
    return build_module("sentiment")


@pytest.fixture(scope="module")
def output() -> ModuleType:
    return build_module("output")


def _margins(scores: np.ndarray, offsets: np.ndarray, temp: float) -> np.ndarray:
    z = (scores + offsets) / temp
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    top2 = np.sort(p, axis=1)[:, -2:]
    return np.asarray(top2[:, 1] - top2[:, 0])


def test_the_margin_sends_the_chosen_share_of_rows_to_the_refiner(sentiment: ModuleType) -> None:
    rng = np.random.default_rng(7)
    scores = rng.normal(0, 2, size=(4000, 3))
    offsets, temp = np.array([0.0, 0.4, -0.2]), 1.7
    margin = sentiment.refine_margin(scores, offsets, temp)
    share = float((_margins(scores, offsets, temp) < margin).mean())
    assert share == pytest.approx(sentiment.REFINE_SHARE, abs=0.002)
    # Offsets and temperature count: the run-time head applies both before the margin.
    assert sentiment.refine_margin(scores, np.zeros(3), 1.0) != pytest.approx(margin)


def test_a_build_takes_the_committed_refiner_files(output: ModuleType, tmp_path: Path) -> None:
    sizes = output.copy_refiner(tmp_path)
    for name in output.REFINER_FILES:
        committed = output.DEFAULT_OUT / name
        assert (tmp_path / name).read_bytes() == committed.read_bytes()
        assert sizes[name] == committed.stat().st_size


def test_a_build_without_the_refiner_files_stops_with_the_fix(
    output: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "DEFAULT_OUT", tmp_path / "nowhere")
    with pytest.raises(SystemExit, match=r"train_sentiment_teacher\.py"):
        output.copy_refiner(tmp_path)


def test_the_committed_manifest_describes_the_refiner_the_build_writes(
    output: ModuleType,
) -> None:
    manifest = json.loads((output.DEFAULT_OUT / "manifest.json").read_text(encoding="utf-8"))
    spec = RefinerSpec.from_manifest(manifest)
    teacher = build_module("teacher")
    assert spec == teacher.REFINER_SPEC
    assert spec is not None
    for name in spec.files:
        assert manifest["files"][name] == (output.DEFAULT_OUT / name).stat().st_size
    assert output.DEFAULT_OUT == ROOT / "src" / "caredesk" / "triage" / "model_files"


SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.mark.skipif(
    not (SHARED_DATA / "README.md").exists(),
    reason=f"the public training data is not beside the repository ({SHARED_DATA})",
)
def test_the_shipped_models_refine_about_the_chosen_share_of_held_out_tweets(
    sentiment: ModuleType,
) -> None:
    # End to end: the margin the build stored, read by the run-time heads, picks about
    # REFINE_SHARE of airline tweets it never trained on (out-of-fold rows set the margin).
    from caredesk.triage import get_triager
    from caredesk.triage.refiner import REFINED_REASON

    tweets = build_module("data").load_splits(SHARED_DATA).airline_test
    results = get_triager().triage_many([e.text for e in tweets])
    share = sum(any(r.startswith(REFINED_REASON) for r in x.reasons) for x in results) / len(
        results
    )
    assert abs(share - sentiment.REFINE_SHARE) < 0.03
