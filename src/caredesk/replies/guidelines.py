"""Brand voice guidelines per team and the live lint of a draft (S11).

``teams.guidelines`` holds::

    {"forbidden_phrases": ["calm down"], "required_phrases": [],
     "greetings": ["Hi", "Hej"], "sign_offs": ["/AB", "– Amira"],
     "tone_hints": ["warm, no jargon"], "max_length": {"x": 280, "email": 4000},
     "language_must_match": true}

``lint_draft`` returns :class:`Problem` values; "error" ones (empty, NUL, longer than the network
allows) can never be sent, "warning" ones may be sent with an explicit, recorded override.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from caredesk.channels.registry import get_adapter
from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import CaredeskError, ValidationFailed
from caredesk.models import Agent, Team
from caredesk.replies.canned import language_name
from caredesk.replies.problems import Problem

MAX_REPLY_CHARS = 20_000
# Below these the language guess of a draft is too weak to complain about.
MIN_LANGUAGE_CONFIDENCE = 0.6
MIN_LANGUAGE_WORDS = 4
_WORD_RE = re.compile(r"\w+")
_LEFTOVER_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def _x_length() -> tuple[Callable[[str], int], int]:
    from caredesk.channels.x.text import X_MAX_WEIGHTED_LENGTH, x_weighted_length

    return x_weighted_length, X_MAX_WEIGHTED_LENGTH


# Networks that count text their own way, for plug-ins that do not offer ``text_length`` yet.
_MEASURES: dict[str, Callable[[], tuple[Callable[[str], int], int]]] = {"x": _x_length}


def channel_measure(channel: str, *, private: bool) -> tuple[Callable[[str], int], int | None]:
    """How a network counts a post and its hard limit for public posts (None: no limit).
    The channel plug-in's own ``text_length`` wins when it has one."""
    if private:
        return len, MAX_REPLY_CHARS
    try:
        adapter: Any = get_adapter(channel)
    except CaredeskError:
        adapter = None
    measure = getattr(adapter, "text_length", None)
    limit = getattr(adapter, "max_text_length", None)
    if callable(measure):
        return measure, limit
    if channel in _MEASURES:
        fn, fallback_limit = _MEASURES[channel]()
        return fn, limit or fallback_limit
    return len, limit


@dataclass(frozen=True)
class Guidelines:
    forbidden_phrases: tuple[str, ...] = ()
    required_phrases: tuple[str, ...] = ()
    greetings: tuple[str, ...] = ()
    sign_offs: tuple[str, ...] = ()
    tone_hints: tuple[str, ...] = ()
    max_length: Mapping[str, int] = field(default_factory=dict)
    language_must_match: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "forbidden_phrases": list(self.forbidden_phrases),
            "required_phrases": list(self.required_phrases),
            "greetings": list(self.greetings),
            "sign_offs": list(self.sign_offs),
            "tone_hints": list(self.tone_hints),
            "max_length": dict(self.max_length),
            "language_must_match": self.language_must_match,
        }


def _phrases(raw: Any, name: str, errors: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        errors.append(f"{name} must be a list of texts")
        return ()
    items = tuple(x.strip() for x in raw if x.strip())
    if len(items) > 100 or any(len(x) > 200 for x in items):
        errors.append(f"{name}: at most 100 entries of at most 200 characters")
    return items[:100]


def parse_guidelines(raw: Any, *, strict: bool = False) -> Guidelines:
    """Read a team's guidelines. Lenient by default (bad parts ignored); strict raises."""
    errors: list[str] = []
    if raw is None or raw == {}:
        return Guidelines()
    if not isinstance(raw, dict):
        if strict:
            raise ValidationFailed("guidelines must be a JSON object")
        return Guidelines()
    known = {
        "forbidden_phrases", "required_phrases", "greetings", "sign_offs", "tone_hints",
        "max_length", "language_must_match",
    }  # fmt: skip
    unknown = sorted(set(raw) - known)
    if unknown:
        errors.append(f"unknown keys: {', '.join(unknown)}")
    lengths: dict[str, int] = {}
    raw_len = raw.get("max_length") or {}
    if not isinstance(raw_len, dict):
        errors.append("max_length must map a channel to a number of characters")
    else:
        for k, v in raw_len.items():
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_REPLY_CHARS:
                errors.append(f"max_length.{k} must be a whole number 1-{MAX_REPLY_CHARS}")
            else:
                lengths[str(k)] = v
    must_match = raw.get("language_must_match", True)
    if not isinstance(must_match, bool):
        errors.append("language_must_match must be true or false")
        must_match = True
    g = Guidelines(
        forbidden_phrases=_phrases(raw.get("forbidden_phrases"), "forbidden_phrases", errors),
        required_phrases=_phrases(raw.get("required_phrases"), "required_phrases", errors),
        greetings=_phrases(raw.get("greetings"), "greetings", errors),
        sign_offs=_phrases(raw.get("sign_offs"), "sign_offs", errors),
        tone_hints=_phrases(raw.get("tone_hints"), "tone_hints", errors),
        max_length=lengths,
        language_must_match=must_match,
    )
    if strict and errors:
        raise ValidationFailed("; ".join(errors))
    return g


def do_set_guidelines(
    session: Session, clock: Clock, team: Team, raw: Any, actor: Agent | None = None
) -> Guidelines:
    g = parse_guidelines(raw, strict=True)
    team.guidelines = g.to_dict()
    record(
        session,
        clock,
        workspace_id=team.workspace_id,
        name=E.GUIDELINES_CHANGED,
        actor_kind="agent" if actor else "system",
        actor_agent_id=actor.id if actor else None,
        payload={"team_id": team.id},
    )
    return g


def _fold(text: str) -> str:
    # casefold keeps offsets for nearly all scripts; NFC so "é" typed two ways still matches.
    return unicodedata.normalize("NFC", text).casefold()


def _find_all(haystack: str, needle: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if not needle:
        return spans
    start = haystack.find(needle)
    while start >= 0 and len(spans) < 50:
        spans.append((start, start + len(needle)))
        start = haystack.find(needle, start + 1)
    return spans


def validate_outgoing(text: str, channel: str, *, private: bool) -> list[Problem]:
    """The hard checks every outgoing text must pass, whatever the guidelines say."""
    problems: list[Problem] = []
    if not text or not text.strip():
        return [Problem("empty", "the reply is empty", None, "error")]
    if "\x00" in text:
        at = text.index("\x00")
        problems.append(Problem("nul_character", "contains a NUL character", (at, at + 1), "error"))
    bad = next((i for i, ch in enumerate(text) if unicodedata.category(ch) == "Cs"), None)
    if bad is not None:
        problems.append(
            Problem("invalid_text", "contains an invalid character", (bad, bad + 1), "error")
        )
    if len(text) > MAX_REPLY_CHARS:
        problems.append(
            Problem(
                "too_long",
                f"longer than {MAX_REPLY_CHARS} characters",
                (MAX_REPLY_CHARS, len(text)),
                "error",
            )
        )
        return problems
    measure, limit = channel_measure(channel, private=private)
    if limit is not None:
        length = measure(text)
        if length > limit:
            how = f" as {channel} counts them" if measure is not len else ""
            if how and channel == "x" and ("http" in text or "www." in text):
                how += " (each link counts as 23)"
            problems.append(
                Problem(
                    "too_long", f"{length} characters{how}; {channel} allows {limit}", None, "error"
                )
            )
    return problems


def lint_draft(
    text: str,
    *,
    channel: str,
    guidelines: Guidelines | Mapping[str, Any] | None = None,
    customer_language: str | None = None,
    private: bool = False,
    detect_language: Callable[[str], tuple[str, float]] | None = None,
) -> list[Problem]:
    """Every problem of a draft, each with code, message and span. Never raises."""
    g = guidelines if isinstance(guidelines, Guidelines) else parse_guidelines(guidelines)
    if not isinstance(text, str):
        return [Problem("empty", "the reply is empty", None, "error")]
    problems = validate_outgoing(text, channel, private=private)
    if any(p.code in ("empty", "too_long") and p.span is not None for p in problems):
        return problems  # too big to look at further
    if problems and problems[0].code == "empty":
        return problems
    folded = _fold(text)
    if len(folded) != len(text):  # rare: casefold changed lengths; fall back to lower()
        folded = text.lower()
    for m in _LEFTOVER_RE.finditer(text):
        problems.append(
            Problem("unfilled_placeholder", "a placeholder was not filled in", m.span())
        )
    for phrase in g.forbidden_phrases:
        for span in _find_all(folded, _fold(phrase)):
            problems.append(Problem("forbidden_phrase", f"the brand avoids “{phrase}”", span))
    for phrase in g.required_phrases:
        if _fold(phrase) not in folded:
            problems.append(Problem("required_phrase_missing", f"include “{phrase}”"))
    stripped = folded.lstrip()
    lead = len(folded) - len(stripped)
    if g.greetings and not any(stripped.startswith(_fold(x)) for x in g.greetings):
        end = lead + len(stripped.split(maxsplit=1)[0]) if stripped else lead
        problems.append(
            Problem(
                "greeting_missing", f"start with a greeting: {' / '.join(g.greetings)}", (lead, end)
            )
        )
    tail = folded.rstrip()
    if g.sign_offs and not any(tail.endswith(_fold(x)) for x in g.sign_offs):
        problems.append(
            Problem(
                "sign_off_missing",
                f"end with a sign-off: {' / '.join(g.sign_offs)}",
                (max(0, len(tail) - 1), len(tail)),
            )
        )
    limit = g.max_length.get(channel)
    if limit is not None:
        measure, _ = channel_measure(channel, private=private)
        length = measure(text)
        if length > limit:
            problems.append(
                Problem(
                    "over_team_length",
                    f"{length} characters; the team keeps {channel} replies under {limit}",
                )
            )
    if g.language_must_match and customer_language and customer_language != "und":
        problems.extend(_language_problem(text, customer_language, detect_language))
    return problems


def _detect(text: str) -> tuple[str, float]:
    from caredesk.triage import get_triager

    r = get_triager().triage(text)
    return r.language, r.language_confidence


def _language_problem(
    text: str, wanted: str, detect: Callable[[str], tuple[str, float]] | None
) -> list[Problem]:
    body = _LEFTOVER_RE.sub(" ", text)
    if len(_WORD_RE.findall(body)) < MIN_LANGUAGE_WORDS:
        return []
    lang, confidence = (detect or _detect)(body)
    if lang in ("und", wanted) or confidence < MIN_LANGUAGE_CONFIDENCE:
        return []
    if {lang, wanted} == {"hi", "ur"} and body.isascii():
        return []  # romanised Hindi and Urdu are one spoken language in Latin letters
    return [
        Problem(
            "language_mismatch",
            f"the draft reads as {language_name(lang)}; the customer writes "
            f"{language_name(wanted)}",
        )
    ]
