"""The care-intent override: a post the kind head files as noise stays care when the intent
head is confident of a care intent, with a reason the agent can read."""

from __future__ import annotations

import numpy as np
import pytest

from caredesk.triage import Triager
from caredesk.triage.heads import LinearHead, ScoredHead

KINDS = ("care", "engagement", "noise", "sales")


def _bias_head(name: str, classes: tuple[str, ...], favourite: str, margin: float) -> ScoredHead:
    """A head with no features whose bias alone picks ``favourite`` by ``margin`` logits."""
    bias = np.zeros(len(classes), dtype=np.float32)
    bias[classes.index(favourite)] = margin
    return ScoredHead(
        LinearHead(
            name=name,
            classes=classes,
            keys=np.zeros(0, dtype=np.uint32),
            weights=np.zeros((0, len(classes)), dtype=np.float16),
            bias=bias,
            uses_chars=False,
        )
    )


def _triager(
    shipped: Triager, intent: str, margin: float, care_intent_min: float | None
) -> Triager:
    intents = ("delivery", "other", "praise", "purchase", "spam")
    return Triager(
        shipped.language,
        shipped.sentiment,
        _bias_head("kind", KINDS, "noise", 3.0),
        _bias_head("intent", intents, intent, margin),
        care_intent_min=care_intent_min,
    )


def test_confident_care_intent_turns_noise_into_care_with_a_reason(triager: Triager) -> None:
    t = _triager(triager, "delivery", 6.0, 0.6)  # delivery ~99 %
    r = t.triage("when will my new card arrive")
    assert (r.kind, r.intent, r.needs_reply) == ("care", "delivery", True)
    assert r.kind_confidence == pytest.approx(r.intent_confidence, abs=1e-3)
    assert r.kind_confidence > 0.9
    assert any(x.startswith("kind care, not noise: intent 'delivery' 9") for x in r.reasons)


def test_unsure_intent_leaves_noise_alone(triager: Triager) -> None:
    t = _triager(triager, "delivery", 0.5, 0.6)  # delivery ~27 % of five intents
    r = t.triage("when will my new card arrive")
    assert r.kind == "noise"
    assert not any("not noise" in x for x in r.reasons)


@pytest.mark.parametrize("intent", ["other", "praise", "purchase", "spam"])
def test_only_care_intents_override(triager: Triager, intent: str) -> None:
    r = _triager(triager, intent, 6.0, 0.6).triage("what is the meaning of life")
    assert r.kind == "noise"


def test_without_a_tuned_minimum_there_is_no_override(triager: Triager) -> None:
    r = _triager(triager, "delivery", 6.0, None).triage("when will my new card arrive")
    assert r.kind == "noise"


def test_shipped_models_carry_the_tuned_minimum(triager: Triager) -> None:
    assert triager.care_intent_min is not None
    assert 0.5 <= triager.care_intent_min <= 0.95
    workspace = triager.with_adjustment(None)
    assert workspace.care_intent_min == triager.care_intent_min


def test_bank_app_questions_are_care_with_the_shipped_models(triager: Triager) -> None:
    # Phrased like CLINC's out-of-scope queries, but clearly about the brand's service.
    for text in (
        "my card still hasn't arrived, when will it come?",
        "why was I charged twice for the same payment",
        "I forgot my passcode and can't log in",
    ):
        assert triager.triage(text).kind == "care", text
