"""The triage stage: one call turns a post into language, sentiment, kind, intent,
needs-reply and priority, each with a reason an agent can read."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from caredesk.config import get_settings
from caredesk.triage.adjustment import Adjustment
from caredesk.triage.heads import (
    F32,
    LinearHead,
    ScoredHead,
    SharedLookup,
    feature_norms,
    load_npz,
    read_manifest,
    softmax,
)
from caredesk.triage.intents import INTENT_KINDS
from caredesk.triage.language import LanguageIdentifier
from caredesk.triage.priority import PriorityRules, decide_priority, find_urgent_terms
from caredesk.triage.refiner import (
    RefinerSpec,
    SentimentRefiner,
    check_margin,
    load_refiner,
    refine,
)
from caredesk.triage.result import AuthorInfo, TriageResult, fallback_result
from caredesk.triage.result import needs_reply as decide_needs_reply
from caredesk.triage.text import Prepared, prepare, word_groups
from caredesk.triage.wordless import wordless_result

log = logging.getLogger(__name__)

# Below this probability the intent is reported as "other" rather than a guess.
MIN_INTENT_CONFIDENCE = 0.30
_DEFAULT_RULES = PriorityRules()


def _files_dir() -> Any:
    return resources.files("caredesk.triage") / "model_files"


class Triager:
    """Holds the loaded models; safe to share between threads (the models are read-only, an
    ONNX Runtime session may be run from several threads, and the per-process memos behind
    the heads are bounded dicts whose races cost only a recompute)."""

    def __init__(
        self,
        language: LanguageIdentifier,
        sentiment: ScoredHead,
        kind: ScoredHead,
        intent: ScoredHead,
        *,
        model_id: str = "",
        adjustment: Adjustment | None = None,
        care_intent_min: float | None = None,
        lookup: SharedLookup | None = None,
        refiner: SentimentRefiner | None = None,
        refine_margin: float = 0.0,
    ) -> None:
        self.language = language
        self.sentiment = sentiment
        self.kind = kind
        self.intent = intent
        heads = (sentiment.head, kind.head, intent.head)
        if lookup is None or any(a is not b for a, b in zip(lookup.heads, heads, strict=True)):
            lookup = SharedLookup(heads)
        self.lookup = lookup
        self.model_id = model_id
        self.adjustment = adjustment
        # Tuned by the build and stored in kind.npz; None (older model files) = no override.
        self.care_intent_min = care_intent_min
        if refiner is not None:
            if refiner.classes != sentiment.head.classes:
                raise ValueError("the sentiment refiner's classes differ from the sentiment head's")
            check_margin(refine_margin)
        self.refiner = refiner
        # Posts whose linear sentiment margin (top minus runner-up probability) is below
        # this are checked by the refiner; set by the build, stored in sentiment.npz.
        self.refine_margin = refine_margin

    @classmethod
    def load(cls, directory: Path | None = None, *, refine: bool = True) -> Triager:
        """Load the model files (the packaged ones unless a directory is given); offline.
        ``refine=False`` leaves out the sentiment refiner (the linear heads alone)."""
        base: Any = directory if directory is not None else _files_dir()

        def read(name: str) -> bytes:
            data: bytes = (base / name).read_bytes()
            return data

        manifest = read_manifest(read("manifest.json"))
        data = {n: load_npz(read(f"{n}.npz")) for n in ("sentiment", "kind", "intent")}
        heads = {n: LinearHead.from_npz(n, d) for n, d in data.items()}
        care_min = data["kind"].get("care_intent_min")
        spec = RefinerSpec.from_manifest(manifest) if refine else None
        sizes = manifest.get("files")
        refiner = (
            load_refiner(read, spec, sizes if isinstance(sizes, dict) else {})
            if spec is not None
            else None
        )
        margin = data["sentiment"].get("refine_margin")
        return cls(
            LanguageIdentifier.from_npz(load_npz(read("language.npz"))),
            ScoredHead(heads["sentiment"]),
            ScoredHead(heads["kind"]),
            ScoredHead(heads["intent"]),
            model_id=str(manifest.get("model_id") or manifest.get("built_at", "")),
            care_intent_min=float(np.asarray(care_min).item()) if care_min is not None else None,
            refiner=refiner,
            refine_margin=float(np.asarray(margin).item()) if margin is not None else 0.0,
        )

    def with_adjustment(self, blob: bytes | Adjustment | None) -> Triager:
        """A Triager for one workspace: base models plus that workspace's corrections.

        Raises ValueError for a blob that is not a valid adjustment or does not fit these
        models (the caller decides whether to fall back to the base models).
        """
        if blob is None:
            return self
        adj = blob if isinstance(blob, Adjustment) else Adjustment.from_bytes(blob)
        heads: dict[str, ScoredHead] = {}
        for name in ("sentiment", "kind", "intent"):
            base: ScoredHead = getattr(self, name)
            delta = adj.deltas.get(name)
            if delta is not None and adj.classes.get(name) != base.head.classes:
                raise ValueError(f"adjustment for {name!r} was made for other model classes")
            heads[name] = ScoredHead(base.head, delta)
        return Triager(
            self.language,
            heads["sentiment"],
            heads["kind"],
            heads["intent"],
            model_id=self.model_id,
            adjustment=adj,
            care_intent_min=self.care_intent_min,
            lookup=self.lookup,  # same base heads: a workspace shares the merged key table
            refiner=self.refiner,
            refine_margin=self.refine_margin,
        )

    # ------------------------------------------------------------------ single post

    def triage(
        self,
        text: str | bytes,
        author: AuthorInfo | None = None,
        *,
        waiting_minutes: float = 0.0,
        rules: PriorityRules | None = None,
    ) -> TriageResult:
        """Triage one post. Never raises for any text; see ``TriageResult.reasons``."""
        try:
            p = prepare(text)
            words, chars = word_groups(p)
            (s_raw, s_h), (k_raw, k_h), (i_raw, i_h) = self.lookup.raw_scores(words, chars, p)
            probs = (
                self.sentiment.finish(s_raw, s_h),
                self.kind.finish(k_raw, k_h),
                self.intent.finish(i_raw, i_h),
            )
            s_base = self.sentiment.base_top(s_raw, s_h)
            return self._decide(p, probs, author, waiting_minutes, rules, s_base)
        except Exception:  # pragma: no cover - last line of defence for untrusted input
            log.exception("triage failed; returning a safe default")
            return fallback_result("triage could not read this post; check it by hand")

    def triage_many(
        self,
        texts: Sequence[str | bytes],
        authors: Sequence[AuthorInfo | None] | None = None,
        *,
        waiting_minutes: Sequence[float] | None = None,
        rules: PriorityRules | None = None,
    ) -> list[TriageResult]:
        """Triage a batch; the model arithmetic runs once for the whole batch."""
        n = len(texts)
        authors = authors if authors is not None else [None] * n
        waits = waiting_minutes if waiting_minutes is not None else [0.0] * n
        if len(authors) != n or len(waits) != n:
            raise ValueError("texts, authors and waiting_minutes must have the same length")
        prepared: list[Prepared | None] = []
        groups: list[tuple[list[int], list[int]]] = []
        for t in texts:
            try:
                ready = prepare(t)
                prepared.append(ready)
                groups.append(word_groups(ready))
            except Exception:  # pragma: no cover
                log.exception("triage failed to prepare a post")
                prepared.append(None)
                groups.append(([], []))
        heads = (self.sentiment, self.kind, self.intent)
        raws = self.lookup.raw_scores_many(groups, prepared)
        per_head = [
            self._batch_probs(h, raw, groups, prepared) for h, raw in zip(heads, raws, strict=True)
        ]
        s_base = self.sentiment.base_tops(*raws[0])
        out: list[TriageResult] = []
        for i, p in enumerate(prepared):
            if p is None:
                out.append(fallback_result("triage could not read this post; check it by hand"))
                continue
            try:
                probs = (per_head[0][i], per_head[1][i], per_head[2][i])
                base = None if s_base is None else s_base[i]
                out.append(self._decide(p, probs, authors[i], float(waits[i]), rules, base))
            except Exception:  # pragma: no cover
                log.exception("triage failed; returning a safe default")
                out.append(fallback_result("triage could not read this post; check it by hand"))
        return out

    @staticmethod
    def _batch_probs(
        sh: ScoredHead,
        raw: tuple[F32, npt.NDArray[np.intp]],
        groups: list[tuple[list[int], list[int]]],
        prepared: Sequence[Prepared | None],
    ) -> F32:
        """A head's probabilities for a batch from its weight sums; a workspace correction
        is added post by post (its delta has its own keys)."""
        sums, n_selected = raw
        if sh.delta is not None:
            return (
                np.stack(
                    [
                        sh.finish(sums[i], sh.head.select(w, c, p))
                        for i, ((w, c), p) in enumerate(zip(groups, prepared, strict=True))
                    ]
                )
                if groups
                else np.zeros((0, len(sh.head.classes)), np.float32)
            )
        norm = feature_norms(n_selected)
        return softmax(sums / norm[:, None] + sh.head.bias)

    # ------------------------------------------------------------------ decisions

    def _decide(
        self,
        p: Prepared,
        probs: tuple[F32, F32, F32],
        author: AuthorInfo | None,
        waiting_minutes: float,
        rules: PriorityRules | None,
        s_base: int | None = None,
    ) -> TriageResult:
        """``s_base``: the sentiment head's top class without the workspace's correction
        (None without one)."""
        rules = rules or _DEFAULT_RULES
        reasons: list[str] = []
        if p.invalid_bytes:
            reasons.append("text had invalid UTF-8; bad bytes were replaced")
        if p.truncated:
            reasons.append(f"long text ({p.raw_len:,} characters): judged on the first part")
        lang = self.language.identify(p)
        reasons.extend(f"language: {r}" for r in lang.reasons)

        s_classes = self.sentiment.head.classes
        s_p, k_p, i_p = probs
        override = self._override(p)
        if "sentiment" not in override:  # an agent's label for this very text needs no check
            s_p, refined = refine(
                self.refiner,
                self.refine_margin,
                p.original if p.words else "",
                lang.language,
                s_p,
                s_base,
            )
            if refined:
                reasons.append(refined)
        pos = float(s_p[s_classes.index("positive")]) if "positive" in s_classes else 0.0
        neg = float(s_p[s_classes.index("negative")]) if "negative" in s_classes else 0.0
        sentiment = s_classes[int(np.argmax(s_p))]
        score = round(pos - neg, 3)

        if not p.words:
            return wordless_result(p, lang, sentiment, score, reasons, self.sentiment.head.lexicon)

        k_classes = self.kind.head.classes
        kind = k_classes[int(np.argmax(k_p))]
        kind_conf = float(k_p.max())
        intent, intent_conf = self._intent(kind, i_p)

        if kind == "noise":
            sure = self._confident_care_intent(i_p)
            if sure is not None:
                # "when will my card arrive" reads like an unrelated query to the kind head,
                # but the intent head knows it: a care question must reach an agent.
                # Its confidence is the intent head's: the kind head's own care share is low.
                kind, kind_conf = "care", sure[1]
                intent, intent_conf = self._intent(kind, i_p)
                reasons.append(f"kind care, not noise: intent '{sure[0]}' {sure[1]:.0%} confident")

        if kind == "noise" and intent != "spam":
            # Safety, legal and outage words are never noise: an agent must see them.
            found = find_urgent_terms(p.lower, (rules or _DEFAULT_RULES).urgent_terms)
            if found:
                kind = "care"
                kind_conf = float(k_p[k_classes.index("care")]) if "care" in k_classes else 0.0
                intent, intent_conf = self._intent(kind, i_p)
                reasons.append(f"urgency word '{found[0]}': kept as care, not noise")

        if override:
            sentiment = override.get("sentiment", sentiment)
            kind = override.get("kind", kind)
            intent = override.get("intent", intent)
            if "sentiment" in override:
                score = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}.get(sentiment, score)
            reasons.append("agent correction for this exact text applied")
        reasons.append(f"sentiment {sentiment} ({score:+.2f})")
        reasons.append(f"kind {kind} ({kind_conf:.0%})")
        reasons.append(f"intent {intent}" + (f" ({intent_conf:.0%})" if intent != "other" else ""))

        needs_reply, why_reply = decide_needs_reply(kind, intent, p)
        reasons.append(why_reply)
        decision = decide_priority(
            kind=kind,
            intent=intent,
            sentiment=sentiment,
            sentiment_score=score,
            needs_reply=needs_reply,
            text_lower=p.lower,
            followers=author.followers if author else None,
            verified=bool(author and author.verified),
            vip=bool(author and author.vip),
            waiting_minutes=max(0.0, float(waiting_minutes or 0.0)),
            rules=rules,
        )
        priority = decision.priority
        if override and override.get("priority"):
            priority = override["priority"]
            reasons.append(f"priority {priority} set by an agent for this text")
        reasons.extend(f"priority {priority}: {r}" for r in decision.reasons)
        language = override.get("language", lang.language) if override else lang.language
        return TriageResult(
            language=language,
            language_confidence=lang.confidence,
            sentiment=sentiment,
            sentiment_score=score,
            kind=kind,
            kind_confidence=round(kind_conf, 3),
            intent=intent,
            intent_confidence=round(intent_conf, 3),
            needs_reply=needs_reply,
            priority=priority,
            reasons=tuple(reasons),
            script=lang.script,
        )

    def _intent(self, kind: str, i_p: F32) -> tuple[str, float]:
        classes = self.intent.head.classes
        for idx in np.argsort(-i_p):
            name = classes[int(idx)]
            if kind in INTENT_KINDS.get(name, frozenset()):
                conf = float(i_p[int(idx)])
                if conf < MIN_INTENT_CONFIDENCE and name != "other":
                    return "other", conf
                return name, conf
        return "other", 0.0

    def _confident_care_intent(self, i_p: F32) -> tuple[str, float] | None:
        """The top intent and its probability if it is a care intent at or above the tuned
        minimum (``care_intent_min``), else None."""
        if self.care_intent_min is None:
            return None
        idx = int(np.argmax(i_p))
        name = self.intent.head.classes[idx]
        conf = float(i_p[idx])
        if name == "other" or "care" not in INTENT_KINDS.get(name, frozenset()):
            return None
        return (name, conf) if conf >= self.care_intent_min else None

    def _override(self, p: Prepared) -> dict[str, str]:
        if self.adjustment is None or not self.adjustment.overrides:
            return {}
        return dict(self.adjustment.overrides.get(" ".join(p.tokens), {}))


_cached: Triager | None = None
_cache_lock = threading.Lock()


def get_triager() -> Triager:
    """The shared Triager with the packaged model files, loaded once per process; with the
    sentiment refiner unless ``CAREDESK_TRIAGE_REFINER=false``."""
    global _cached
    if _cached is None:
        with _cache_lock:
            if _cached is None:
                _cached = Triager.load(refine=get_settings().triage_refiner)
    return _cached
