"""Posts without words: only emoji, emoticons, links, mentions, symbols or nothing. The
heads have too few features to judge them, so their kind and sentiment follow simple rules."""

from __future__ import annotations

from caredesk.triage.language import LanguageGuess
from caredesk.triage.result import TriageResult
from caredesk.triage.text import Lexicon, Prepared, has_emoticon


def wordless_result(
    p: Prepared,
    lang: LanguageGuess,
    sentiment: str,
    score: float,
    reasons: list[str],
    lexicon: Lexicon | None,
) -> TriageResult:
    """The result for a post with no words, given the sentiment head's guess; a negative
    emoji post is care (an upset customer), other emoji engagement, the rest noise."""
    emoji = [t for t in p.tokens if not t[0].isalnum() and t[0] not in "!?"]
    needs_reply, priority = False, "low"
    polarity = lexicon.polarity(p) if lexicon is not None else 0.0
    by_emoji = "positive" if polarity >= 1.0 else "negative" if polarity <= -1.0 else ""
    if by_emoji and by_emoji != sentiment:
        # One or two emoji are too few features for the model (its bias wins); the
        # emoji's own polarity is the better guess.
        sentiment, score = by_emoji, round(max(-1.0, min(1.0, polarity / 4.0)), 3)
        reasons.append(f"sentiment {sentiment} from the emoji's polarity")
    if (emoji or has_emoticon(p)) and sentiment == "negative":
        # "😡😡😡" at a brand is an upset customer, not a like: someone should ask why.
        kind, needs_reply, priority = "care", True, "normal"
        why = "only emoji or emoticons, and negative ones: likely an upset customer"
        why_priority = "priority normal: ask what went wrong"
    elif emoji or has_emoticon(p):
        kind = "engagement"
        why = "only emoji: nothing to answer in words (a like or a short reply will do)"
        why_priority = "priority low: no text to act on"
    else:
        kind, sentiment, score = "noise", "neutral", 0.0
        if p.n_urls or p.n_mentions:
            why = "only links or mentions: nothing to act on"
        elif p.raw_len == 0 or not p.text.strip():
            why = "empty text"
        else:
            why = "no words (only symbols or numbers)"
        why_priority = "priority low: no text to act on"
    reasons.extend([why, f"sentiment {sentiment} ({score:+.2f})", f"kind {kind}"])
    reasons.append(why_priority)
    return TriageResult(
        language=lang.language,
        language_confidence=lang.confidence,
        sentiment=sentiment,
        sentiment_score=score,
        kind=kind,
        kind_confidence=1.0 if kind == "noise" else 0.5,
        intent="other",
        intent_confidence=0.0,
        needs_reply=needs_reply,
        priority=priority,
        reasons=tuple(reasons),
        script=lang.script,
    )
