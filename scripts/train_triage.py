"""Rebuild the triage model files from the public data sets and print their evaluation.

Usage:  .venv/bin/python scripts/train_triage.py [--data ../shared/data] [--out DIR]

Reads (all under --data; see its README.md):
  airline/tweets_train.csv                 Twitter US Airline Sentiment   CC BY-NC-SA 4.0
  sentiment/english_tweets/*               SemEval tweets via XLM-T       see XLM-T
  sentiment/hindi_romanized_tweets/*       SAIL romanised Hindi tweets    see XLM-T
  sentiment/telugu_news/*                  ACTSA Telugu news sentences    research use
  twcs/twcs_random5000.csv                 Customer Support on Twitter    CC BY-NC-SA 4.0
  bitext/*.csv                             Bitext customer support        CDLA-Sharing 1.0
  banking77/train.csv                      Banking77 (PolyAI)             CC BY 4.0
  clinc150/data_full.json                  CLINC150 (+ out-of-scope)      CC BY 3.0
plus, from this repo, the hand-written seeds in src/caredesk/triage/seed_data/ and, for the
language model, the word lists of the `wordfreq` package (Apache-2.0 code; data CC BY-SA 4.0).
The sentiment head also ships a polarity lexicon: the words of VADER's lexicon (vaderSentiment
3.3.2, MIT licence, C.J. Hutto) plus the hand-written seed_data/emoji_sentiment.tsv.

Sentiment is an ensemble of three linear models over the same features (logistic regression,
a linear SVM and NB-LR with log-count ratios), each scaled by the spread of its scores and
summed -- which is again one linear model, so run time is unchanged. Per-class bias offsets
and a temperature are tuned on out-of-fold scores of the airline *training* rows (never the
test rows), then the ensemble is refitted on all training rows. `--ablation` prints what
each step gives on a validation split of the training rows and on the held-out test rows.

Held-out test splits (fixed seed, never trained on) are produced by `load_splits()`, which
bench/triage.py reuses so both report on the very same rows. Needs scikit-learn and wordfreq
(dev-only); the run-time package needs only numpy.

Kind: the training mix caps Banking77, weights the CLINC out-of-scope rows up, and a noise
threshold is tuned on a kind tuning split of the training data (see triage_build/kind.py).

The code lives in the scripts/triage_build/ package (data, linear, sentiment, kind, language,
output); this file is the entry point. `--check` rebuilds everything (about 3-5 minutes on a
busy 2-CPU machine, ~2 minutes on a free core) and compares the files byte for byte.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from triage_build import ROOT
from triage_build.data import (  # noqa: F401  (bench/triage.py and tests use these)
    SEED,
    Example,
    Splits,
    load_splits,
)
from triage_build.kind import train_kind  # noqa: F401
from triage_build.linear import (  # noqa: F401
    design_matrix,
    featurise,
    fit_ensemble,
    macro_f1_idx,
    train_head,
    tune_offsets,
    tune_temperature,
    vocabulary,
)
from triage_build.output import DEFAULT_OUT, MODEL_FILES, build, compare, word_clusters
from triage_build.sentiment import load_lexicon, sentiment_ablation, train_sentiment  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument(
        "--ablation",
        action="store_true",
        help="print the sentiment ablation (validation and test macro-F1) and exit",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="build into a temporary folder and check it equals --out byte for byte",
    )
    args = ap.parse_args(argv)
    if args.ablation:
        splits = load_splits(args.data)
        sentiment_ablation(splits, word_clusters(args.data, splits))
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(args.data, Path(tmp), evaluate=False)
            differ = compare(Path(tmp), args.out)
        if differ:
            print(f"REBUILD DIFFERS from {args.out}: {', '.join(differ)}")
            return 1
        print(f"rebuild is identical to {args.out} ({', '.join(MODEL_FILES)})")
        return 0
    return build(args.data, args.out, evaluate=True)


if __name__ == "__main__":
    raise SystemExit(main())
