"""Sentiment cues: the shipped polarity lexicon, emoji and emoticons, negation."""

from __future__ import annotations

import pytest

from caredesk.triage import Triager
from caredesk.triage.heads import LinearHead
from caredesk.triage.text import Lexicon, cue_strings, prepare, word_groups

TINY = Lexicon(
    valence={"good": 1.9, "awful": -2.0, "😡": -3.5, "🙂": 1.5},
    emoji=frozenset({"😡", "🙂"}),
    anger=frozenset({"😡"}),
)


def test_lexicon_words_become_signed_strength_buckets() -> None:
    assert cue_strings(prepare("good flight, awful food"), TINY) == ["v:+2", "v:-2"]


def test_negation_flips_a_lexicon_word_until_punctuation() -> None:
    assert cue_strings(prepare("not good"), TINY) == ["v:-1"]
    assert cue_strings(prepare("not now! good"), TINY) == ["v:+2"]


def test_emoji_give_polarity_and_anger_and_are_not_flipped_by_negation() -> None:
    assert cue_strings(prepare("no 😡"), TINY) == ["e:-", "e:anger"]
    assert cue_strings(prepare("🙂"), TINY) == ["e:+"]


def test_emoticons_are_found_but_not_inside_links() -> None:
    assert cue_strings(prepare("ok :( "), TINY) == ["e:-"]
    assert cue_strings(prepare("see you :-)"), TINY) == ["e:+"]
    assert cue_strings(prepare("https://example.com/a:(b"), TINY) == []


def test_shipped_sentiment_head_carries_the_lexicon(triager: Triager) -> None:
    head: LinearHead = triager.sentiment.head
    assert head.lexicon is not None
    assert head.lexicon.valence["horrible"] < 0 < head.lexicon.valence["great"]
    assert "😡" in head.lexicon.anger
    # Only the sentiment head adds cue features; the others see words and chars only.
    p = prepare("great 😡")
    w, c = word_groups(p)
    assert len(head.select(w, c, p)) > len(triager.kind.head.select(w, c, p))


@pytest.mark.parametrize("text", ["😡😡😡", "🤬", "👎👎", ":("])
def test_angry_emoji_only_posts_are_negative_care_that_needs_a_reply(
    triager: Triager, text: str
) -> None:
    r = triager.triage(text)
    assert (r.sentiment, r.kind, r.needs_reply, r.priority) == ("negative", "care", True, "normal")
    assert r.sentiment_score < 0
    assert any("upset customer" in why for why in r.reasons)


@pytest.mark.parametrize("text", ["👍", "😍😍", ":-)"])
def test_happy_emoji_only_posts_are_positive_engagement(triager: Triager, text: str) -> None:
    r = triager.triage(text)
    assert (r.sentiment, r.kind, r.needs_reply, r.priority) == (
        "positive",
        "engagement",
        False,
        "low",
    )


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        # Words rare in the training tweets, known to the lexicon.
        ("the connecting flight was dreadful and the crew dismissive", "negative"),
        ("what a delightful crew, superb service", "positive"),
        ("flight delayed again 😡", "negative"),
    ],
)
def test_lexicon_and_emoji_words_steer_sentiment(
    triager: Triager, text: str, sentiment: str
) -> None:
    assert triager.triage(text).sentiment == sentiment


@pytest.mark.parametrize("text", ["landed on time", "new seats on the plane"])
def test_an_emoji_moves_the_score_its_way(linear_triager: Triager, text: str) -> None:
    # The head's emoji cues; the refiner, asked about unsure posts, reads the whole post.
    plain = linear_triager.triage(text).sentiment_score
    assert linear_triager.triage(text + " 😍").sentiment_score > plain
    assert linear_triager.triage(text + " 😡").sentiment_score < plain


def test_batch_and_single_agree_with_cue_features(triager: Triager) -> None:
    texts = ["😡😡😡", "not good at all", "love it :)", "what time is boarding?"]
    assert [r.to_dict() for r in triager.triage_many(texts)] == [
        triager.triage(t).to_dict() for t in texts
    ]


def test_word_clusters_add_one_feature_per_known_word() -> None:
    lex = Lexicon(valence={}, emoji=frozenset(), anger=frozenset(), clusters={"late": 7})
    assert cue_strings(prepare("Late again, so late"), lex) == ["k:7", "k:7"]
    assert cue_strings(prepare("on time"), lex) == []


def test_shipped_sentiment_head_carries_word_clusters() -> None:
    lexicon = Triager.load().sentiment.head.lexicon
    assert lexicon is not None and len(lexicon.clusters) > 1000
    assert max(lexicon.clusters.values()) < 1024
