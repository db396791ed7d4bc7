"""The triage model build, in parts: data (splits), linear (shared fitting helpers),
sentiment, kind, language and output (files, manifest, check). scripts/train_triage.py is the
entry point; it and bench/triage.py import from here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# One BLAS thread: multi-threaded sums change the last bits of the fitted weights between
# runs, and the committed model files must be rebuilt byte for byte. Set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))
