"""The sentiment teacher's labels (made by scripts/train_sentiment_teacher.py and committed)
turned into weighted training rows for the linear head: one row per variant and class, weighted
by the teacher's probability (soft labels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from caredesk.triage.refiner import RefinerSpec
from triage_build.augment import Variant, airline_variants, texts_digest
from triage_build.data import Example

LABELS_PATH = Path(__file__).resolve().parent / "teacher" / "sentiment_labels.npz"
# The teacher ships as the sentiment refiner (int8 ONNX); all-MiniLM-L6-v2 reads English.
REFINER_SPEC = RefinerSpec(
    graph="sentiment_refiner_graph.onnx",
    delta="sentiment_refiner_delta.npz",
    tokenizer="sentiment_refiner_tokenizer.json",
    classes=("negative", "neutral", "positive"),
    languages=frozenset({"en"}),
    max_tokens=64,
)
WEIGHT = 1.0  # of a variant, against an airline tweet's 1.0; chosen on the validation split
MIN_PROB = 0.05  # classes below this are left out: they add rows, not signal


def teacher_rows(
    sentiment_train: list[Example], path: Path = LABELS_PATH
) -> tuple[list[Example], list[int]]:
    """Soft-labelled variant rows and, for each, the index of the airline tweet it came from
    (so a fold that holds a tweet out holds its variants out too). An error when the label
    file is missing or does not match the variants made from these rows: a build without
    the teacher would quietly differ from the committed model."""
    if not path.exists():
        raise SystemExit(
            f"no sentiment teacher labels at {path}: restore the committed file or rerun "
            "scripts/train_sentiment_teacher.py"
        )
    variants: list[Variant] = airline_variants(sentiment_train)
    with np.load(path, allow_pickle=False) as data:
        probs = np.asarray(data["probs"], dtype=np.float32)
        classes = [str(c) for c in data["classes"]]
        digest = str(data["digest"])
    if len(probs) != len(variants) or digest != texts_digest([v.text for v in variants]):
        raise SystemExit(
            f"{path} was made from other variants (data or augment.py changed): "
            "rerun scripts/train_sentiment_teacher.py"
        )
    rows: list[Example] = []
    origins: list[int] = []
    for v, p in zip(variants, probs, strict=True):
        for c, label in enumerate(classes):
            if p[c] >= MIN_PROB:
                rows.append(Example(v.text, label, WEIGHT * float(p[c]), "teacher"))
                origins.append(v.origin)
    return rows, origins
