"""Triage: language, sentiment, kind, intent, needs-reply and priority for every post.

Linear heads over small numpy model files shipped in ``model_files/``, plus an int8
transformer (ONNX Runtime) that double-checks the sentiment of the English posts the linear
head is unsure of; everything loads offline.
See docs/triage.md for the output fields, the intent set, training and measured quality.

    >>> from caredesk.triage import get_triager, AuthorInfo
    >>> r = get_triager().triage("my order never arrived", AuthorInfo(followers=52_000))
    >>> r.kind, r.priority, r.reasons
"""

from caredesk.triage.batch import BatchStats, triage_jsonl
from caredesk.triage.intents import INTENTS, KINDS, SENTIMENTS
from caredesk.triage.priority import DEFAULT_URGENT_TERMS, PriorityRules
from caredesk.triage.result import AuthorInfo, TriageResult
from caredesk.triage.retrain import Correction, RetrainReport, retrain
from caredesk.triage.triager import Triager, get_triager

PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")

__all__ = [
    "DEFAULT_URGENT_TERMS",
    "INTENTS",
    "KINDS",
    "PRIORITIES",
    "SENTIMENTS",
    "AuthorInfo",
    "BatchStats",
    "Correction",
    "PriorityRules",
    "RetrainReport",
    "TriageResult",
    "Triager",
    "get_triager",
    "retrain",
    "triage_jsonl",
]
