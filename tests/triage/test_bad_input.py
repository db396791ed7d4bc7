"""Bad input always gets a defined result with a reason, never an exception."""

from __future__ import annotations

import pytest

from caredesk.triage import AuthorInfo, Triager


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty text"),
        ("   \n\t ", "no words"),
        ("🙏🙏🔥", "only emoji"),
        ("https://example.com/a http://t.co/x", "only links"),
        ("@brand @someone", "only links or mentions"),
        ("12345 !!! ???", "no words"),
    ],
)
def test_posts_without_words_are_und_with_a_reason(triager: Triager, text: str, why: str) -> None:
    r = triager.triage(text)
    assert r.language == "und"
    assert any(why in reason for reason in r.reasons)
    assert r.priority == "low"


def test_huge_text_is_judged_on_its_start(triager: Triager) -> None:
    text = "my order never arrived and nobody answers my emails. " * 2_500
    assert len(text) > 100_000
    r = triager.triage(text)
    assert r.kind == "care"
    assert any("long text" in why for why in r.reasons)


def test_invalid_utf8_bytes_are_replaced_and_named(triager: Triager) -> None:
    r = triager.triage(b"my bill is wrong \xff\xfe\xc3")
    assert r.language == "en"
    assert any("invalid UTF-8" in why for why in r.reasons)


def test_lone_surrogates_and_control_characters_do_not_raise(triager: Triager) -> None:
    r = triager.triage("refund \ud800 please \x00\x1b[31m")
    assert r.kind in {"care", "sales", "engagement", "noise"}


def test_odd_author_data_is_ignored_not_raised() -> None:
    a = AuthorInfo.from_dict({"followers": "many", "verified": "yes", "vip": 1, "handle": 5})
    assert a == AuthorInfo()
    assert AuthorInfo.from_dict(["not", "a", "dict"]) is None


def test_batch_of_bad_inputs_matches_one_by_one(triager: Triager) -> None:
    texts: list[str | bytes] = ["", "🙂", b"\xff", "x" * 200_000, "mera order nahi aaya"]
    batch = triager.triage_many(texts)
    assert [r.to_dict() for r in batch] == [triager.triage(t).to_dict() for t in texts]
