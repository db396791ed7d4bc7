"""Learn a workspace's adjustment from its agents' corrections.

The base training data is not available at run time, so the shipped weights stay frozen and
encode it; a small correction layer is trained on top of them: extra weight rows for the
features that occur in corrected posts, plus a bias shift, fitted by gradient descent on the
corrections with an L2 pull towards zero (i.e. towards the base model). Corrected texts are
also remembered verbatim, so the same text seen again gets the agents' labels exactly.

``retrain`` holds out part of the corrections (fixed seed) to report before/after accuracy,
then fits the final adjustment on all of them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from caredesk.triage.adjustment import HEAD_FIELDS, OVERRIDE_FIELDS, Adjustment
from caredesk.triage.heads import HeadDelta, ScoredHead
from caredesk.triage.intents import INTENT_KINDS, INTENTS, KINDS, SENTIMENTS
from caredesk.triage.text import fingerprint, prepare, word_groups
from caredesk.triage.triager import Triager, get_triager

_LANG = re.compile(r"^(und|[a-z]{2,3})$")
_ALLOWED: Mapping[str, frozenset[str]] = {
    "sentiment": frozenset(SENTIMENTS),
    "kind": frozenset(KINDS),
    "intent": frozenset(INTENTS),
    "priority": frozenset({"urgent", "high", "normal", "low"}),
}
MAX_CORRECTIONS = 50_000


@dataclass(frozen=True)
class Correction:
    text: str
    field: str  # language | sentiment | kind | intent | priority
    label: str
    language: str | None = None  # language of the post, as the agent saw it

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Correction:
        return cls(
            text=str(d.get("text", "")),
            field=str(d.get("field", "")),
            label=str(d.get("label", "")),
            language=str(d["language"]) if d.get("language") else None,
        )


@dataclass(frozen=True)
class FieldReport:
    field: str
    corrections: int
    holdout: int
    before_accuracy: float | None  # base model on the held-out corrections
    after_accuracy: float | None  # adjusted model (fitted without them) on the same
    learned: bool  # False: only remembered verbatim (language, priority)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RetrainReport:
    adjustment: bytes
    corrections: int
    rejected: tuple[str, ...]
    fields: tuple[FieldReport, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "adjustment_bytes": len(self.adjustment),
            "corrections": self.corrections,
            "rejected": list(self.rejected),
            "fields": [f.to_dict() for f in self.fields],
        }

    def summary(self) -> str:
        lines = [f"{self.corrections} corrections used, {len(self.rejected)} rejected"]
        for f in self.fields:
            if f.before_accuracy is None or f.after_accuracy is None:
                lines.append(f"  {f.field}: {f.corrections} corrections (too few to hold out)")
            else:
                lines.append(
                    f"  {f.field}: accuracy on {f.holdout} held-out corrections "
                    f"{f.before_accuracy:.0%} -> {f.after_accuracy:.0%}"
                )
        return "\n".join(lines)


def validate(c: Correction) -> str | None:
    if c.field not in OVERRIDE_FIELDS:
        return f"unknown field {c.field!r}"
    if not c.text.strip():
        return "empty text"
    if c.field == "language":
        return None if _LANG.match(c.label) else f"bad language code {c.label!r}"
    if c.label not in _ALLOWED[c.field]:
        return f"{c.label!r} is not a valid {c.field}"
    return None


def fit_delta(
    sh: ScoredHead,
    texts: list[str],
    labels: list[str],
    *,
    steps: int = 150,
    lr: float = 0.2,
    l2: float = 1e-3,
) -> HeadDelta:
    """Fit extra weight rows on top of a frozen head (Adam on mean cross-entropy)."""
    classes = sh.head.classes
    feats = []
    for t in texts:
        p = prepare(t)
        w, c = word_groups(p)
        feats.append(sh.head.select(w, c, p))
    keys = np.unique(np.fromiter((h for f in feats for h in f), dtype=np.uint32))
    n_cls = len(classes)
    y = np.array([classes.index(lab) for lab in labels])
    norms = np.array([1.0 / max(1, len(f)) ** 0.5 for f in feats], dtype=np.float32)
    base = sh.head.raw_scores_many(feats) * norms[:, None] + sh.head.bias
    rows = np.repeat(np.arange(len(feats)), [len(f) for f in feats])
    cols = np.searchsorted(keys, np.fromiter((h for f in feats for h in f), dtype=np.uint32))
    vals = norms[rows]
    d = np.zeros((len(keys), n_cls), dtype=np.float32)
    b = np.zeros(n_cls, dtype=np.float32)
    m_d, v_d = np.zeros_like(d), np.zeros_like(d)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    onehot = np.eye(n_cls, dtype=np.float32)[y]
    for step in range(1, steps + 1):
        contrib = np.zeros((len(feats), n_cls), dtype=np.float32)
        np.add.at(contrib, rows, d[cols] * vals[:, None])
        z = base + contrib + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / len(feats)
        g_d = np.zeros_like(d)
        np.add.at(g_d, cols, g[rows] * vals[:, None])
        g_d += l2 * d
        g_b = g.sum(axis=0) + 10 * l2 * b
        for param, grad, m, v in ((d, g_d, m_d, v_d), (b, g_b, m_b, v_b)):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    keep = np.abs(d).max(axis=1) > 1e-3
    return HeadDelta(keys[keep], d[keep], b)


def implied_kinds(corrections: list[Correction]) -> list[Correction]:
    """Kind labels implied by intent corrections ("delivery" can only be care), for texts
    whose kind the agents did not correct themselves: otherwise a post the kind model calls
    noise could never show the corrected intent."""
    explicit = {fingerprint(c.text) for c in corrections if c.field == "kind"}
    out: list[Correction] = []
    for c in corrections:
        kinds = INTENT_KINDS.get(c.label, frozenset()) if c.field == "intent" else frozenset()
        if len(kinds) == 1 and fingerprint(c.text) not in explicit:
            out.append(Correction(c.text, "kind", next(iter(kinds)), c.language))
    return out


def build_adjustment(base: Triager, corrections: list[Correction]) -> Adjustment:
    deltas: dict[str, HeadDelta] = {}
    classes: dict[str, tuple[str, ...]] = {}
    implied = implied_kinds(corrections)
    learned = corrections + implied
    for name in HEAD_FIELDS:
        sel = [c for c in learned if c.field == name]
        if not sel:
            continue
        sh: ScoredHead = getattr(base, name)
        deltas[name] = fit_delta(sh, [c.text for c in sel], [c.label for c in sel])
        classes[name] = sh.head.classes
    overrides: dict[str, dict[str, str]] = {}
    for c in implied + corrections:  # the agents' own and later corrections win
        key = fingerprint(c.text)
        if key:
            overrides.setdefault(key, {})[c.field] = c.label
    return Adjustment(base.model_id, deltas, classes, overrides, len(corrections))


def _accuracy(t: Triager, items: list[Correction]) -> float:
    if not items:
        return 0.0
    results = t.triage_many([c.text for c in items])
    hits = sum(1 for r, c in zip(results, items, strict=True) if getattr(r, c.field) == c.label)
    return round(hits / len(items), 4)


def retrain(
    corrections: Iterable[Correction | Mapping[str, Any]],
    *,
    base: Triager | None = None,
    holdout_fraction: float = 0.2,
    min_for_holdout: int = 10,
    seed: int = 0,
) -> RetrainReport:
    """Fit a workspace adjustment from corrections; report before/after on held-out ones.

    Invalid corrections are skipped and listed in ``rejected``; this never raises for bad
    corrections. Load the result with ``base.with_adjustment(report.adjustment)``.
    """
    base = base or get_triager()
    if base.adjustment is not None:
        raise ValueError("retrain from the base Triager, not one that already has an adjustment")
    good: list[Correction] = []
    rejected: list[str] = []
    for i, raw in enumerate(corrections):
        if i >= MAX_CORRECTIONS:
            rejected.append(f"more than {MAX_CORRECTIONS} corrections: the rest were ignored")
            break
        c = raw if isinstance(raw, Correction) else Correction.from_dict(raw)
        why = validate(c)
        if why:
            rejected.append(f"correction {i + 1}: {why}")
        else:
            good.append(c)
    rng = random.Random(seed)
    train: list[Correction] = []
    holdout: dict[str, list[Correction]] = {}
    for name in OVERRIDE_FIELDS:
        sel = [c for c in good if c.field == name]
        if len(sel) >= min_for_holdout:
            sel = sel[:]
            rng.shuffle(sel)
            n_hold = max(2, int(len(sel) * holdout_fraction))
            holdout[name] = sel[:n_hold]
            train.extend(sel[n_hold:])
        else:
            train.extend(sel)
    reports: list[FieldReport] = []
    if holdout:
        trial = base.with_adjustment(build_adjustment(base, train))
    for name in OVERRIDE_FIELDS:
        n = sum(1 for c in good if c.field == name)
        if not n:
            continue
        hold = holdout.get(name, [])
        before = _accuracy(base, hold) if hold else None
        after = _accuracy(trial, hold) if hold else None
        reports.append(FieldReport(name, n, len(hold), before, after, name in HEAD_FIELDS))
    final = build_adjustment(base, good)
    return RetrainReport(final.to_bytes(), len(good), tuple(rejected), tuple(reports))
