"""What triage returns, what it is told about the author, and the rule for whether a
post needs a human answer (kept apart from the model code in triager.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from caredesk.triage.text import Prepared

_ACKS = frozenset(
    {"ok", "okay", "k", "thanks", "thank", "you", "thx", "ty", "cheers", "great", "cool",
     "tak", "shukriya", "dhanyavad", "धन्यवाद", "शुक्रिया", "شکریہ", "ధన్యవాదాలు", "👍", "🙏"}
)  # fmt: skip


@dataclass(frozen=True)
class AuthorInfo:
    handle: str | None = None
    followers: int | None = None
    verified: bool = False
    vip: bool = False

    @classmethod
    def from_dict(cls, data: Any) -> AuthorInfo | None:
        """Lenient: bad fields are dropped, never raised (author data comes from outside)."""
        if not isinstance(data, dict):
            return None
        followers = data.get("followers")
        if isinstance(followers, bool) or not isinstance(followers, int | float):
            followers = None
        handle = data.get("handle")
        return cls(
            handle=handle if isinstance(handle, str) else None,
            followers=max(0, int(followers)) if followers is not None else None,
            verified=data.get("verified") is True,
            vip=data.get("vip") is True,
        )


@dataclass(frozen=True)
class TriageResult:
    language: str
    language_confidence: float
    sentiment: str
    sentiment_score: float
    kind: str
    kind_confidence: float
    intent: str
    intent_confidence: float
    needs_reply: bool
    priority: str
    reasons: tuple[str, ...]
    script: str = "Zyyy"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        return d


def needs_reply(kind: str, intent: str, p: Prepared) -> tuple[bool, str]:
    if kind == "noise":
        return False, "no reply needed: noise"
    if kind == "engagement" and all(w in _ACKS for w in p.tokens if w[0] not in "!?"):
        return False, "no reply needed: a bare thank-you or OK closes the conversation"
    if kind == "engagement":
        return True, "reply: friendly answer worth giving"
    if kind == "sales":
        return True, "reply: sales lead for the engagement/sales team"
    return True, "reply: customer expects help"


def fallback_result(reason: str) -> TriageResult:
    return TriageResult(
        language="und",
        language_confidence=0.0,
        sentiment="neutral",
        sentiment_score=0.0,
        kind="care",
        kind_confidence=0.0,
        intent="other",
        intent_confidence=0.0,
        needs_reply=True,
        priority="normal",
        reasons=(reason,),
    )
