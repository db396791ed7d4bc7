"""The listening rule language: constructs, precedence, canonical form and errors."""

from __future__ import annotations

import pytest

from caredesk.kit.errors import ValidationFailed
from caredesk.listening.rule_language import (
    And,
    From,
    Lang,
    Not,
    Or,
    RuleSyntaxError,
    Term,
    TermKind,
    canonical,
    lint_rule,
    parse_rule,
    to_string,
)


def word(text: str) -> Term:
    return Term(TermKind.WORD, text, text.lower())


def test_bare_word_is_a_word_term_with_a_casefolded_pattern() -> None:
    assert parse_rule("Acme") == Term(TermKind.WORD, "Acme", "acme")


def test_quoted_phrase_keeps_its_words_together() -> None:
    assert parse_rule('"My  Router"') == Term(TermKind.PHRASE, "My  Router", "my router")


def test_hashtag_and_handle_keep_their_sigils_in_the_pattern() -> None:
    assert parse_rule("#AcmeFail") == Term(TermKind.HASHTAG, "#AcmeFail", "#acmefail")
    assert parse_rule("@AcmeCare") == Term(TermKind.HANDLE, "@AcmeCare", "@acmecare")


def test_mastodon_handle_with_instance_is_one_handle() -> None:
    node = parse_rule("@acme@mastodon.social")
    assert node == Term(TermKind.HANDLE, "@acme@mastodon.social", "@acme@mastodon.social")


def test_lang_and_from_operators() -> None:
    assert parse_rule("lang:DA") == Lang("da")
    assert parse_rule("lang:pt-BR") == Lang("pt-br")
    assert parse_rule("from:@AcmeCare") == From("acmecare")


def test_minus_from_excludes_an_author() -> None:
    assert parse_rule("acme -from:AcmeCare") == And((word("acme"), Not(From("acmecare"))))


def test_minus_and_not_are_the_same_negation() -> None:
    assert (
        parse_rule("acme -spam") == parse_rule("acme NOT spam") == parse_rule("acme AND NOT spam")
    )


def test_adjacent_terms_are_anded() -> None:
    assert parse_rule("acme router") == And((word("acme"), word("router")))
    assert parse_rule("acme router") == parse_rule("acme AND router")


def test_and_binds_tighter_than_or() -> None:
    expected = Or((word("a"), And((word("b"), word("c")))))
    assert parse_rule("a OR b c") == expected
    assert parse_rule("a OR b AND c") == expected


def test_not_binds_tighter_than_and() -> None:
    assert parse_rule("NOT a b") == And((Not(word("a")), word("b")))


def test_parentheses_override_precedence() -> None:
    assert parse_rule("(a OR b) c") == And((Or((word("a"), word("b"))), word("c")))
    assert parse_rule("-(a OR b)") == Not(Or((word("a"), word("b"))))


def test_nested_or_and_and_are_flattened() -> None:
    assert parse_rule("(a OR b) OR c") == Or((word("a"), word("b"), word("c")))
    assert parse_rule("a (b c)") == And((word("a"), word("b"), word("c")))


def test_misspelling_alternatives_are_sugar_for_or() -> None:
    assert parse_rule("acme~{acmee, akme}") == parse_rule("(acme OR acmee OR akme)")
    assert parse_rule('acme~{"ak me"} router') == And(
        (Or((word("acme"), Term(TermKind.PHRASE, "ak me", "ak me"))), word("router"))
    )


def test_lowercase_operators_are_words_and_lint_warns() -> None:
    node = parse_rule("acme or acmee")
    assert node == And((word("acme"), word("or"), word("acmee")))
    assert any("write OR" in w for w in lint_rule(node))


def test_lint_warns_about_rules_that_see_every_post() -> None:
    assert any("every post" in w for w in lint_rule(parse_rule("-spam")))
    assert lint_rule(parse_rule("acme -spam")) == []


def test_url_is_a_word_not_an_operator() -> None:
    assert parse_rule("https://acme.com/help") == word("https://acme.com/help")


@pytest.mark.parametrize(
    "query",
    [
        "acme",
        '"my router died" OR @AcmeCare',
        "(acme OR acmee) -from:acmecare lang:en",
        "#acme OR (router AND -wifi)",
        "NOT (a OR b) c",
        "NOT NOT a",
        '-"free stuff" acme~{acmee,akme}',
        "blåbær OR کمپنی OR తెలుగు OR हिंदी",
        "a OR (b (c OR -d))",
    ],
)
def test_canonical_form_parses_back_to_the_same_rule(query: str) -> None:
    node = parse_rule(query)
    assert parse_rule(to_string(node)) == node
    assert canonical(canonical(query)) == canonical(query)


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("   ", 3, "empty"),
        ("(acme", 0, "missing ')'"),
        ("(acme OR (b)", 0, "missing ')'"),
        ("acme)", 4, "unmatched ')'"),
        ("acme AND", 5, "AND needs a term after it"),
        ("acme OR", 5, "OR needs a term after it"),
        ("OR acme", 0, "OR needs a term before it"),
        ("AND acme", 0, "AND needs a term before it"),
        ("acme AND OR b", 5, "AND needs a term after it"),
        ("acme NOT", 5, "NOT needs a term after it"),
        ("acme (", 5, "missing ')'"),
        ("()", 0, "empty parentheses"),
        ('""', 0, "empty phrase"),
        ('acme "   "', 5, "empty phrase"),
        ('acme "router', 5, "unterminated phrase"),
        ("lang:xx acme", 5, "unknown language code 'xx'"),
        ("acme lang:english", 10, "unknown language code"),
        ("lang: acme", 0, "lang: needs a language code"),
        ("acme from:", 10, "from: needs a handle"),
        ("to:acme", 0, "unknown operator 'to:'"),
        ("#", 0, "'#' must be followed by a hashtag"),
        ("acme #ac!me", 8, "hashtag may contain only"),
        ("@", 0, "'@' must be followed by a handle"),
        ("@ac!me", 0, "not a valid handle"),
        ("acme - spam", 5, "'-' must be attached"),
        ("acme --spam", 5, "'-' must be"),
        ("-NOT acme", 0, "'-' must be followed by a term"),
        ("acme~{acmee,}", 12, "empty alternative"),
        ("acme~{acmee", 5, "missing '}'"),
        ("acme~acmee", 4, "'~' must be followed by {alternatives}"),
        ("~{a}", 0, "must follow a word"),
        ("\u200b", 0, "no searchable characters"),
    ],
)
def test_bad_rule_reports_the_column_of_the_problem(
    query: str, position: int, fragment: str
) -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule(query)
    assert fragment in info.value.message
    assert info.value.position == position
    assert info.value.query == query


def test_deeply_nested_rule_is_an_error_not_a_crash() -> None:
    with pytest.raises(RuleSyntaxError, match="nested too deeply"):
        parse_rule("(" * 200 + "a" + ")" * 200)
    with pytest.raises(RuleSyntaxError, match="nested too deeply"):
        parse_rule("NOT " * 200 + "a")


def test_overlong_rule_is_rejected() -> None:
    with pytest.raises(RuleSyntaxError, match="too long"):
        parse_rule("acme " * 2000)


def test_pretty_puts_a_caret_under_the_problem() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        parse_rule("acme lang:xx")
    lines = info.value.pretty().splitlines()
    assert lines[0] == "acme lang:xx"
    assert lines[1] == " " * 10 + "^^"
    assert "unknown language code 'xx'" in lines[2] and "column 10" in lines[2]


def test_rule_syntax_error_is_a_validation_error_for_the_api() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_rule("(")
    assert info.value.status_code == 422
