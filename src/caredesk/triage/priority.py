"""Priority from sentiment, kind, urgency words, reach, VIP status and waiting time.

Points add up; ``urgent_points`` or more is urgent, ``high_points`` or more is high, care and
sales posts are at least normal, the rest (praise, noise) is low. Noise is always low. Every
point carries a reason an agent can read. Rules are per workspace (``PriorityRules.from_dict``).
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import ahocorasick

DEFAULT_URGENT_TERMS: tuple[str, ...] = (
    # English
    "outage", "service down", "site down", "app down", "not working for anyone", "lawyer",
    "attorney", "lawsuit", "sue you", "legal action", "cancel my account",
    "close my account", "cancel my subscription", "fraud", "scam", "scammed", "stolen",
    "hacked", "data breach", "emergency", "urgent", "asap", "unsafe", "dangerous", "injured",
    "food poisoning", "ombudsman", "trading standards", "gas leak", "caught fire", "on fire",
    "fire hazard", "electric shock", "allergic reaction", "choking", "exploded", "injury",
    "take you to court", "solicitor", "small claims", "consumer court", "class action",
    "is down for everyone", "down for everyone",
    # Danish
    "nedbrud", "ude af drift", "advokat", "retssag", "opsige", "opsig", "luk min konto",
    "svindel", "hacket", "stjålet", "akut", "haster", "farligt", "i brand", "gaslæk",
    "forbrugerklagenævnet",
    # Hindi (Devanagari and romanised)
    "वकील", "कोर्ट", "धोखाधड़ी", "धोखा", "अकाउंट बंद", "तुरंत", "चोरी", "हैक",
    "vakeel", "vakil", "wakeel", "dhokha", "dhokhadhadi", "turant", "account band", "chori",
    "आग लग", "खतरनाक", "aag lag", "khatarnak", "consumer court",
    # Urdu
    "وکیل", "عدالت", "دھوکہ", "فراڈ", "اکاؤنٹ بند", "فوری", "چوری", "ہیک", "آگ لگ", "خطرناک",
    # Telugu
    "లాయర్", "న్యాయవాది", "కోర్టు", "మోసం", "వెంటనే", "అత్యవసరం", "దొంగిలించ", "హ్యాక్",
    "మంటలు", "ప్రమాదకరం",
)  # fmt: skip

_INT_FIELDS = {
    "high_reach_followers", "very_high_reach_followers", "negative_points",
    "strong_negative_points", "urgent_term_points", "safety_points", "reach_points",
    "very_high_reach_points",
    "verified_points", "vip_points", "waiting_high_points", "waiting_urgent_points",
    "high_points", "urgent_points",
}  # fmt: skip
_FLOAT_FIELDS = {"waiting_minutes_high", "waiting_minutes_urgent", "strong_negative_score"}


@dataclass(frozen=True)
class PriorityRules:
    """Per-workspace priority rules. Defaults follow what customers expect (an answer within
    an hour; four hours is already late) and what the brands we studied escalate."""

    urgent_terms: tuple[str, ...] = DEFAULT_URGENT_TERMS
    high_reach_followers: int = 10_000
    very_high_reach_followers: int = 100_000
    waiting_minutes_high: float = 60
    waiting_minutes_urgent: float = 240
    negative_points: int = 1
    strong_negative_score: float = -0.6
    # Strongly negative plus any reach (10k+ followers, verified) or a VIP reaches urgent.
    strong_negative_points: int = 2
    urgent_term_points: int = 4
    safety_points: int = 4  # the intent model read a safety issue (injury, fire, poisoning)
    reach_points: int = 1
    very_high_reach_points: int = 2
    verified_points: int = 1
    vip_points: int = 3  # a VIP is high at once and urgent with any negative sign
    waiting_high_points: int = 2
    waiting_urgent_points: int = 4
    high_points: int = 2
    urgent_points: int = 4

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriorityRules:
        """Build from stored settings. Unknown keys and bad values raise ValueError.

        ``extra_urgent_terms`` adds to the default list instead of replacing it.
        """
        if not isinstance(data, Mapping):
            raise ValueError("priority rules must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"extra_urgent_terms"})
        if unknown:
            raise ValueError(f"unknown priority rule(s): {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in _INT_FIELDS:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"{key} must be a whole number, got {value!r}")
                kwargs[key] = value
            elif key in _FLOAT_FIELDS:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{key} must be a number, got {value!r}")
                kwargs[key] = float(value)
        terms = list(_terms(data.get("urgent_terms", DEFAULT_URGENT_TERMS), "urgent_terms"))
        terms += [t for t in _terms(data.get("extra_urgent_terms", ()), "extra_urgent_terms")]
        kwargs["urgent_terms"] = tuple(dict.fromkeys(terms))
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["urgent_terms"] = list(self.urgent_terms)
        return d


def _terms(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"{name} must be a list of strings")
    out = []
    for t in value:
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"{name} must contain non-empty strings, got {t!r}")
        if len(t) > 100:
            raise ValueError(f"{name}: term longer than 100 characters: {t[:20]!r}...")
        out.append(t.strip())
    if len(out) > 1000:
        raise ValueError(f"{name}: at most 1000 terms, got {len(out)}")
    return tuple(out)


def _validate(r: PriorityRules) -> None:
    for name in _INT_FIELDS | _FLOAT_FIELDS - {"strong_negative_score"}:
        if getattr(r, name) < 0:
            raise ValueError(f"{name} must not be negative")
    if not -1.0 <= r.strong_negative_score <= 0.0:
        raise ValueError("strong_negative_score must be between -1 and 0")
    if r.waiting_minutes_urgent < r.waiting_minutes_high:
        raise ValueError("waiting_minutes_urgent must be at least waiting_minutes_high")
    if r.very_high_reach_followers < r.high_reach_followers:
        raise ValueError("very_high_reach_followers must be at least high_reach_followers")
    if r.high_points < 1 or r.urgent_points < r.high_points:
        raise ValueError("need 1 <= high_points <= urgent_points")
    _terms(r.urgent_terms, "urgent_terms")


# ------------------------------------------------------------------ urgency word matching

_automata: dict[tuple[str, ...], Any] = {}
_lock = threading.Lock()


def _fold(s: str) -> str:
    return unicodedata.normalize("NFC", s).casefold()


def _automaton(terms: tuple[str, ...]) -> Any:
    with _lock:
        auto = _automata.get(terms)
        if auto is None:
            auto = ahocorasick.Automaton()
            for t in terms:
                folded = _fold(t)
                auto.add_word(folded, (len(folded), t))
            auto.make_automaton()
            if len(_automata) > 256:  # bounded: one entry per distinct workspace list
                _automata.clear()
            _automata[terms] = auto
        return auto


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def find_urgent_terms(text_lower: str, terms: tuple[str, ...]) -> list[str]:
    """Urgency terms in the text. Latin-script terms must stand as whole words ("sue" is
    not in "issue"); Indic and Arabic terms may carry suffixes (Telugu glues them on)."""
    if not terms or not text_lower:
        return []
    found: list[str] = []
    for end, (length, term) in _automaton(terms).iter(text_lower):
        start = end - length + 1
        if term.isascii() or term[0].isascii():
            before = text_lower[start - 1] if start > 0 else " "
            after = text_lower[end + 1] if end + 1 < len(text_lower) else " "
            if _is_word_char(before) or _is_word_char(after):
                continue
        if term not in found:
            found.append(term)
    return found


# ------------------------------------------------------------------ the decision


def _followers(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"
    if n >= 1_000:
        return f"{n // 1_000}k"
    return str(n)


def format_wait(minutes: float) -> str:
    if minutes < 60:
        return f"{int(minutes)} min"
    h, m = divmod(int(minutes), 60)
    if h >= 48:
        return f"{h // 24} days"
    return f"{h} h" if m == 0 or h >= 10 else f"{h} h {m} min"


@dataclass(frozen=True)
class PriorityDecision:
    priority: str
    points: int
    reasons: tuple[str, ...]
    urgent_terms: tuple[str, ...]


def decide_priority(
    *,
    kind: str,
    intent: str = "other",
    sentiment: str,
    sentiment_score: float,
    needs_reply: bool,
    text_lower: str,
    followers: int | None,
    verified: bool,
    vip: bool,
    waiting_minutes: float,
    rules: PriorityRules,
) -> PriorityDecision:
    if kind == "noise":
        return PriorityDecision("low", 0, ("low: noise needs no answer",), ())
    points = 0
    why: list[str] = []
    if sentiment == "negative":
        points += rules.negative_points
        why.append(f"negative sentiment ({sentiment_score:+.2f})")
        if sentiment_score <= rules.strong_negative_score and rules.strong_negative_points:
            points += rules.strong_negative_points
            why.append("strongly negative")
    if intent == "safety" and rules.safety_points:
        points += rules.safety_points
        why.append("safety issue")
    terms = find_urgent_terms(text_lower, rules.urgent_terms)
    for t in terms[:3]:
        why.append(f"urgency word '{t}'")
    if terms:
        points += rules.urgent_term_points
    if followers is not None and followers >= rules.high_reach_followers:
        big = followers >= rules.very_high_reach_followers
        points += rules.very_high_reach_points if big else rules.reach_points
        why.append(f"author has {_followers(followers)} followers")
    if verified and rules.verified_points:
        points += rules.verified_points
        why.append("verified author")
    if vip and rules.vip_points:
        points += rules.vip_points
        why.append("VIP customer")
    if needs_reply and kind in {"care", "sales"} and waiting_minutes > 0:
        if waiting_minutes >= rules.waiting_minutes_urgent:
            points += rules.waiting_urgent_points
            why.append(f"waiting {format_wait(waiting_minutes)}")
        elif waiting_minutes >= rules.waiting_minutes_high:
            points += rules.waiting_high_points
            why.append(f"waiting {format_wait(waiting_minutes)}")
    if points >= rules.urgent_points:
        level = "urgent"
    elif points >= rules.high_points:
        level = "high"
    elif kind in {"care", "sales"} or points > 0:
        level = "normal"
    else:
        level = "low"
    if not why:
        why.append(f"{level}: {kind} post with nothing that raises it")
    return PriorityDecision(level, points, tuple(why), tuple(terms))
