"""Priority and its reasons: safety, legal threats, outages, reach, VIPs, waiting time."""

from __future__ import annotations

import pytest

from caredesk.triage import AuthorInfo, PriorityRules, Triager


def _reasons(r: object) -> str:
    return " | ".join(getattr(r, "reasons"))


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("I will call my lawyer if you don't refund me", "lawyer"),
        ("the whole site is down, is this an outage?", "outage"),
        ("gas leak in your store on the high street, unsafe", "gas leak"),
        ("mera account hack ho gaya, turant madad karo", "turant"),
        ("jeg kontakter min advokat hvis I ikke svarer", "advokat"),
    ],
)
def test_urgency_words_make_a_post_urgent_and_say_why(
    triager: Triager, text: str, why: str
) -> None:
    r = triager.triage(text)
    assert r.priority == "urgent"
    assert r.kind == "care"
    assert f"urgency word '{why}'" in _reasons(r)


def test_safety_is_never_dismissed_as_noise(triager: Triager) -> None:
    r = triager.triage("gas leak in the store, unsafe")
    assert (r.kind, r.priority, r.needs_reply) == ("care", "urgent", True)


def test_very_negative_post_from_an_influential_author_is_urgent(triager: Triager) -> None:
    text = "your service is awful, worst company ever, I am furious"
    plain = triager.triage(text)
    loud = triager.triage(text, AuthorInfo(followers=50_000))
    assert plain.priority == "high"
    assert loud.priority == "urgent"
    assert "author has 50k followers" in _reasons(loud)


def test_vip_customer_is_raised_with_a_reason(triager: Triager) -> None:
    text = "where is my order?"
    assert triager.triage(text).priority == "normal"
    r = triager.triage(text, AuthorInfo(vip=True))
    assert r.priority == "high"
    assert "VIP customer" in _reasons(r)
    angry = triager.triage("my order is late again, this is terrible", AuthorInfo(vip=True))
    assert angry.priority == "urgent"


def test_waiting_time_raises_priority(triager: Triager) -> None:
    text = "how do I change my delivery address?"
    assert triager.triage(text).priority == "normal"
    assert triager.triage(text, waiting_minutes=90).priority == "high"
    r = triager.triage(text, waiting_minutes=300)
    assert r.priority == "urgent"
    assert "waiting 5 h" in _reasons(r)


def test_praise_is_low_and_noise_is_low_even_from_a_celebrity(triager: Triager) -> None:
    assert triager.triage("love you guys, best support ever").priority == "low"
    spam = triager.triage("cheap followers, click here", AuthorInfo(followers=2_000_000))
    assert spam.priority == "low"


def test_workspace_rules_add_terms_and_change_thresholds(triager: Triager) -> None:
    rules = PriorityRules.from_dict({"extra_urgent_terms": ["recall"], "vip_points": 4})
    r = triager.triage("is my car part of the recall?", rules=rules)
    assert r.priority == "urgent"
    assert "urgency word 'recall'" in _reasons(r)
    assert triager.triage("where is my order?", AuthorInfo(vip=True), rules=rules).priority == (
        "urgent"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"vip_points": "lots"}, "vip_points must be a whole number"),
        ({"no_such_rule": 1}, "unknown priority rule"),
        ({"urgent_terms": "lawyer"}, "must be a list"),
        ({"high_points": 5, "urgent_points": 3}, "high_points"),
    ],
)
def test_bad_workspace_rules_are_refused_with_a_clear_message(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PriorityRules.from_dict(data)


def test_sue_inside_issue_is_not_a_legal_threat(triager: Triager) -> None:
    r = triager.triage("I have an issue with my invoice")
    assert "urgency word" not in _reasons(r)
