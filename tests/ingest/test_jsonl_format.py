"""The canonical JSONL post format: what one line may and may not hold."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from caredesk.ingest.jsonl_format import (
    CHANNELS,
    MAX_TEXT_BYTES,
    CanonicalPost,
    format_jsonl_line,
    parse_jsonl_line,
)

EXAMPLE = {
    "channel": "x",
    "account": "AcmeCare",
    "external_id": "1849000000000000001",
    "direction": "in",
    "author": {
        "id": "u123",
        "handle": "jane_doe",
        "name": "Jane Doe",
        "followers": 120,
        "verified": False,
    },
    "text": "@AcmeCare my order 4471 never arrived",
    "created_at": "2026-11-20T10:00:00Z",
    "in_reply_to": None,
    "private": False,
    "lang": None,
    "subject": None,
    "url": None,
}


def line(**changes: Any) -> str:
    data = json.loads(json.dumps(EXAMPLE))
    for key, value in changes.items():
        if key.startswith("author_"):
            data["author"][key.removeprefix("author_")] = value
        elif value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    return json.dumps(data, ensure_ascii=False)


def error_of(text: str, line_no: int = 7) -> str:
    with pytest.raises(ValueError) as info:
        parse_jsonl_line(text, line_no)
    return str(info.value)


def test_documented_example_line_parses_into_a_post() -> None:
    post = parse_jsonl_line(line(), 1)
    assert post.channel == "x"
    assert post.author.handle == "jane_doe"
    assert post.created_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert post.in_reply_to is None


def test_minimal_line_needs_only_the_required_fields() -> None:
    minimal = {
        "channel": "email",
        "account": "support@acme.example",
        "external_id": "<a@b>",
        "direction": "in",
        "author": {"id": "jane@mail.example"},
        "text": "Hello",
        "created_at": "2026-11-20T10:00:00+00:00",
    }
    post = parse_jsonl_line(json.dumps(minimal), 1)
    assert post.private is False
    assert post.author.verified is False
    assert post.lang is None


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_documented_channel_is_accepted(channel: str) -> None:
    assert parse_jsonl_line(line(channel=channel), 1).channel == channel


def test_unknown_channel_is_rejected_naming_line_and_field() -> None:
    message = error_of(line(channel="myspace"), 12)
    assert message.startswith("line 12: channel:")


def test_missing_author_id_names_the_nested_field() -> None:
    data = json.loads(line())
    del data["author"]["id"]
    assert error_of(json.dumps(data)) == "line 7: author.id: is required"


def test_every_bad_field_is_named_in_one_message() -> None:
    message = error_of(line(direction="sideways", text="", created_at="2026-11-20T10:00:00"))
    assert "direction:" in message
    assert "text: must not be empty" in message
    assert "created_at: has no time zone" in message


def test_naive_timestamp_is_rejected() -> None:
    assert "created_at: has no time zone" in error_of(line(created_at="2026-11-20T10:00:00"))


def test_date_without_time_is_rejected_as_naive() -> None:
    assert "created_at: has no time zone" in error_of(line(created_at="2026-11-20"))


def test_timestamp_with_offset_is_normalised_to_utc() -> None:
    post = parse_jsonl_line(line(created_at="2026-11-20T15:30:00+05:30"), 1)
    assert post.created_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert post.created_at.tzinfo == UTC


@pytest.mark.parametrize("value", [1763632800, None, "yesterday", "20/11/2026 10:00 UTC"])
def test_timestamp_that_is_not_iso_8601_text_is_rejected(value: Any) -> None:
    assert "line 7: created_at:" in error_of(line(created_at=value))


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_or_blank_text_is_rejected(text: str) -> None:
    assert "text: must not be empty" in error_of(line(text=text))


def test_text_of_exactly_100_kb_is_accepted_and_one_byte_more_is_not() -> None:
    assert len(parse_jsonl_line(line(text="a" * MAX_TEXT_BYTES), 1).text) == MAX_TEXT_BYTES
    assert "text: is longer than" in error_of(line(text="a" * (MAX_TEXT_BYTES + 1)))


def test_text_limit_counts_utf8_bytes_not_characters() -> None:
    # 25,001 four-byte emoji are 100,004 bytes.
    assert "text: is longer than" in error_of(line(text="😀" * 25_001))


def test_text_keeps_markup_and_whitespace_as_written() -> None:
    text = "  <script>alert(1)</script>\n<img src=x onerror=alert(1)>  "
    assert parse_jsonl_line(line(text=text), 1).text == text


def test_leading_at_sign_is_dropped_from_account() -> None:
    assert parse_jsonl_line(line(account="@AcmeCare"), 1).account == "AcmeCare"


def test_account_of_only_an_at_sign_is_rejected() -> None:
    assert "account: must not be empty" in error_of(line(account="@"))


def test_numeric_ids_are_read_as_strings() -> None:
    post = parse_jsonl_line(line(external_id=1849, in_reply_to=1848, author_id=42), 1)
    assert (post.external_id, post.in_reply_to, post.author.id) == ("1849", "1848", "42")


@pytest.mark.parametrize("value", [True, 1.5, "", "   ", ["1"]])
def test_external_id_must_be_non_empty_text_or_integer(value: Any) -> None:
    assert "line 7: external_id:" in error_of(line(external_id=value))


def test_missing_required_fields_are_each_named() -> None:
    message = error_of(line(author=..., text=..., account=...))
    for field in ("author", "text", "account"):
        assert f"{field}: is required" in message


def test_unknown_field_is_rejected_by_name() -> None:
    assert error_of(line(create_at="2026-11-20T10:00:00Z")) == (
        "line 7: create_at: is not a field of the canonical format"
    )


def test_post_replying_to_itself_is_rejected() -> None:
    message = error_of(line(in_reply_to=EXAMPLE["external_id"]))
    assert message == "line 7: in_reply_to: a post cannot reply to itself"


@pytest.mark.parametrize("field", ["private", "author_verified"])
def test_booleans_must_be_json_booleans(field: str) -> None:
    assert "line 7:" in error_of(line(**{field: "false"}))


@pytest.mark.parametrize("value", [-1, "120", 1.5, True])
def test_followers_must_be_a_non_negative_integer(value: Any) -> None:
    assert "author.followers:" in error_of(line(author_followers=value))


@pytest.mark.parametrize("lang", ["da", "hi-Latn", "en-GB", "zh-Hant-TW"])
def test_bcp47_language_tags_are_accepted(lang: str) -> None:
    assert parse_jsonl_line(line(lang=lang), 1).lang == lang


@pytest.mark.parametrize("lang", ["danish!", "d", "en_GB", "x" * 40])
def test_malformed_language_tags_are_rejected(lang: str) -> None:
    assert "lang:" in error_of(line(lang=lang))


def test_empty_optional_strings_count_as_absent() -> None:
    post = parse_jsonl_line(line(lang="", subject=" ", url="", author_handle=""), 1)
    assert (post.lang, post.subject, post.url, post.author.handle) == (None, None, None, None)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://acme.example/x", "https://a b"])
def test_url_must_be_http_without_spaces(url: str) -> None:
    assert "url: must be an http(s) URL" in error_of(line(url=url))


def test_nul_character_in_text_is_rejected() -> None:
    assert "text: contains a NUL character" in error_of(line(text="a\u0000b"))


def test_lone_surrogate_in_text_is_rejected() -> None:
    raw = line().replace("never arrived", "never \\ud800 arrived")
    assert "text: contains invalid Unicode" in error_of(raw)


def test_lone_surrogate_in_author_name_is_rejected() -> None:
    raw = line().replace("Jane Doe", "Jane \\udfff")
    assert "author.name: contains invalid Unicode" in error_of(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{not json", "line 7: not valid JSON"),
        ("[1, 2]", "line 7: expected a JSON object, got list"),
        ('"just text"', "line 7: expected a JSON object, got str"),
        ("", "line 7: blank line"),
        ("   \r\n", "line 7: blank line"),
        ("[" * 200_000, "line 7: JSON is nested too deeply"),
        ('{"a": ' + "9" * 5000 + "}", "line 7: not valid JSON"),
        ("{" + " " * 1_000_001 + "}", "line 7: line is longer than"),
    ],
)
def test_unreadable_lines_raise_value_error_with_the_line_number(raw: str, expected: str) -> None:
    assert error_of(raw).startswith(expected)


def test_trailing_newline_and_byte_order_mark_are_tolerated() -> None:
    assert parse_jsonl_line("\ufeff" + line() + "\r\n", 1).external_id == EXAMPLE["external_id"]


def test_formatted_line_parses_back_to_the_same_post() -> None:
    post = parse_jsonl_line(line(text="Hej 😀\nlinje 2 \u2028 <b>", lang="da"), 1)
    formatted = format_jsonl_line(post)
    assert "\n" not in formatted
    assert "\u2028" not in formatted  # str.splitlines() would split the line there
    assert parse_jsonl_line(formatted, 1) == post
    assert json.loads(formatted)["created_at"] == "2026-11-20T10:00:00Z"


def test_formatted_line_keeps_the_documented_key_order() -> None:
    keys = list(json.loads(format_jsonl_line(parse_jsonl_line(line(), 1))))
    assert keys == list(EXAMPLE)


def _mutations(rng: random.Random) -> list[str]:
    base = line()
    junk: list[Any] = [
        None,
        True,
        0,
        -1,
        10**30,
        1.5e308,
        "",
        "x" * 300,
        [],
        {},
        [1],
        {"a": 1},
        "\u0000",
        "2026-13-45T99:00:00Z",
        "@",
        "\ud800",
    ]
    out = []
    for _ in range(1500):
        choice = rng.random()
        if choice < 0.4:
            i = rng.randrange(len(base))
            out.append(base[:i] + base[i + rng.randint(1, 5) :])
        elif choice < 0.6:
            i = rng.randrange(len(base))
            out.append(base[:i] + rng.choice('{}[]",:\\0 ') + base[i:])
        else:
            data = json.loads(base)
            key = rng.choice([*EXAMPLE, "author"])
            if rng.random() < 0.3:
                data["author"] = {k: rng.choice(junk) for k in ("id", "handle", "followers")}
            else:
                data[key] = rng.choice(junk)
            out.append(json.dumps(data))
    return out


def test_arbitrary_broken_lines_only_ever_raise_value_error() -> None:
    rng = random.Random(1849)
    outcomes = {"ok": 0, "rejected": 0}
    for raw in _mutations(rng):
        try:
            assert isinstance(parse_jsonl_line(raw, 3), CanonicalPost)
            outcomes["ok"] += 1
        except ValueError as exc:
            assert str(exc).startswith("line 3: ")
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 500


def test_examples_in_the_format_document_are_valid_posts() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "jsonl-format.md").read_text("utf-8")
    blocks = re.findall(r"```(json|jsonl)\n(.*?)```", doc, re.S)
    lines = [b.replace("\n", " ") if kind == "json" else b for kind, b in blocks]
    raws = [raw for raw in "\n".join(lines).split("\n") if raw.strip()]
    posts = [parse_jsonl_line(raw, n) for n, raw in enumerate(raws, 1)]
    assert len(posts) == 4
    assert posts[2].in_reply_to == posts[1].external_id
