"""Sentiment, kind and intent on posts a care desk sees every day."""

from __future__ import annotations

import pytest

from caredesk.triage import INTENTS, KINDS, Triager


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("worst airline ever, lost my bag and nobody cares", "negative"),
        ("thank you so much, the crew was wonderful today!", "positive"),
        ("what time does the store open on sunday?", "neutral"),
    ],
)
def test_sentiment_of_clear_posts(triager: Triager, text: str, sentiment: str) -> None:
    r = triager.triage(text)
    assert r.sentiment == sentiment
    assert -1.0 <= r.sentiment_score <= 1.0
    if sentiment != "neutral":
        assert (r.sentiment_score > 0) == (sentiment == "positive")


@pytest.mark.parametrize(
    ("text", "kind", "intent"),
    [
        ("My Acme router keeps rebooting", "care", "technical_problem"),
        ("why is my invoice higher this month?", "care", "billing"),
        ("I forgot my password and can't log in", "care", "account_access"),
        ("what's the price of the family plan?", "sales", "pricing"),
        ("love the new store, the staff were brilliant", "engagement", "praise"),
        ("SEO Wizards: cheap followers, click here", "noise", "spam"),
        (
            "Hello team, we can get your website to #1 on Google in 30 days GUARANTEED!!! "
            "Reply YES for a free audit.",
            "noise",
            "spam",
        ),
    ],
)
def test_kind_and_intent(triager: Triager, text: str, kind: str, intent: str) -> None:
    r = triager.triage(text)
    assert (r.kind, r.intent) == (kind, intent)
    assert r.kind in KINDS and r.intent in INTENTS


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mera order abhi tak nahi aaya", "care"),
        ("Min pakke er ikke kommet endnu", "care"),
        ("میرا آرڈر ابھی تک نہیں آیا", "care"),
        ("నా పార్సెల్ ఇంకా రాలేదు", "care"),
    ],
)
def test_care_posts_in_other_languages(triager: Triager, text: str, kind: str) -> None:
    r = triager.triage(text)
    assert r.kind == kind
    assert r.sentiment == "negative"
    assert r.needs_reply


def test_spam_needs_no_reply_and_is_low(triager: Triager) -> None:
    r = triager.triage("Buy 10k followers now!!! cheap, link in bio")
    assert (r.kind, r.needs_reply, r.priority) == ("noise", False, "low")


def test_a_bare_thanks_needs_no_reply(triager: Triager) -> None:
    r = triager.triage("thanks!")
    assert r.kind == "engagement"
    assert not r.needs_reply


def test_every_decision_has_a_reason(triager: Triager) -> None:
    r = triager.triage("my order never arrived")
    text = " | ".join(r.reasons)
    for part in ("language", "sentiment", "kind", "intent", "priority"):
        assert part in text
    assert set(r.to_dict()) >= {
        "language", "sentiment", "sentiment_score", "kind", "intent", "needs_reply",
        "priority", "reasons",
    }  # fmt: skip
