"""Importing the model-build package (scripts/triage_build) from tests."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def build_module(name: str) -> ModuleType:
    """``triage_build.<name>``; skips when the build's dev dependencies are missing."""
    pytest.importorskip("sklearn", reason="training needs the dev dependency scikit-learn")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_triage  # noqa: F401  (sets up triage_build's import path)

        return importlib.import_module(f"triage_build.{name}")
    finally:
        sys.path.remove(str(ROOT / "scripts"))
