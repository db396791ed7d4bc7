"""A workspace's learned correction to the shipped models, as one small byte string.

It holds, per model head, extra weight rows for the features the agents' corrections touched
(trained on top of the frozen base weights) and, for corrected texts seen again verbatim
(retweets, copy-paste complaints), the agents' labels. Stored by the desk in its database;
loaded with ``Triager.with_adjustment(blob)``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from caredesk.triage.heads import HeadDelta, load_npz

FORMAT = "caredesk-triage-adjustment/1"
HEAD_FIELDS = ("sentiment", "kind", "intent")
OVERRIDE_FIELDS = ("language", "sentiment", "kind", "intent", "priority")
MAX_BLOB_BYTES = 8_000_000


@dataclass(frozen=True)
class Adjustment:
    base_model: str
    deltas: Mapping[str, HeadDelta] = field(default_factory=dict)
    classes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    n_corrections: int = 0

    def to_bytes(self) -> bytes:
        arrays: dict[str, Any] = {}
        meta = {
            "format": FORMAT,
            "base_model": self.base_model,
            "classes": {k: list(v) for k, v in self.classes.items()},
            "overrides": {k: dict(v) for k, v in self.overrides.items()},
            "n_corrections": self.n_corrections,
        }
        arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False))
        for name, d in self.deltas.items():
            arrays[f"{name}_keys"] = d.keys
            arrays[f"{name}_weights"] = d.weights.astype(np.float16)
            arrays[f"{name}_bias"] = d.bias
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Adjustment:
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise ValueError("adjustment must be bytes")
        if len(blob) > MAX_BLOB_BYTES:
            raise ValueError("adjustment is too large to be a triage adjustment")
        try:
            data = load_npz(bytes(blob))
            meta = json.loads(str(data["meta"]))
        except Exception as exc:
            raise ValueError(f"not a triage adjustment: {exc}") from exc
        if meta.get("format") != FORMAT:
            raise ValueError(f"unsupported adjustment format {meta.get('format')!r}")
        deltas: dict[str, HeadDelta] = {}
        classes = {k: tuple(v) for k, v in meta.get("classes", {}).items()}
        for name in HEAD_FIELDS:
            if f"{name}_keys" not in data:
                continue
            keys = np.asarray(data[f"{name}_keys"], dtype=np.uint32)
            weights = np.asarray(data[f"{name}_weights"], dtype=np.float32)
            bias = np.asarray(data[f"{name}_bias"], dtype=np.float32)
            n_cls = len(classes.get(name, ()))
            if weights.shape != (len(keys), n_cls) or bias.shape != (n_cls,):
                raise ValueError(f"adjustment for {name!r} is inconsistent")
            if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
                raise ValueError(f"adjustment keys for {name!r} are not sorted")
            deltas[name] = HeadDelta(keys, weights, bias)
        overrides = {
            str(k): {str(f): str(v) for f, v in dict(o).items() if f in OVERRIDE_FIELDS}
            for k, o in dict(meta.get("overrides", {})).items()
        }
        return cls(
            base_model=str(meta.get("base_model", "")),
            deltas=deltas,
            classes=classes,
            overrides=overrides,
            n_corrections=int(meta.get("n_corrections", 0)),
        )
