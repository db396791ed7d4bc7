"""The compiled matcher: boundaries, brand handles, workspaces, exclusions."""

from __future__ import annotations

import pytest

from caredesk.listening import (
    CompiledMatcher,
    PostView,
    RuleMatch,
    RuleSpec,
    RuleSyntaxError,
)
from caredesk.listening import (
    test_rule as check_rule,
)

ACME = RuleSpec(
    1,
    100,
    "(@AcmeCare OR @Acme OR acme~{acmee,akme} OR #acme) -from:AcmeCare -from:Acme",
    brand_terms=("Acme",),
    brand_handles=("@AcmeCare", "@Acme"),
)


def match(query: str, text: str, **post: object) -> bool:
    result = check_rule(query, text, **post)  # type: ignore[arg-type]
    assert result.valid, result.error
    return result.matched


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acme", True),
        ("ACME!", True),
        ("my acme's router", True),
        ("(acme)", True),
        ("#acme rocks", True),
        ("@acme help", True),
        ("visit acme.com", True),
        ("acmeville is nice", False),
        ("superacme", False),
        ("acme2 is out", False),
        ("@acme_care", False),
    ],
)
def test_word_matches_only_whole_words(text: str, expected: bool) -> None:
    assert match("acme", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("love #Acme!", True),
        ("#acme", True),
        ("acme", False),
        ("#acmefail", False),
        ("@acme", False),
    ],
)
def test_hashtag_matches_only_that_hashtag(text: str, expected: bool) -> None:
    assert match("#acme", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@Acme help", True),
        ("hey @ACME.", True),
        ("@acmecare", False),
        ("bob@acme.com", False),
        ("@acme@other.social", False),
        ("acme", False),
    ],
)
def test_handle_matches_only_a_mention_of_that_account(text: str, expected: bool) -> None:
    assert match("@acme", text) is expected


def test_phrase_needs_its_words_in_order_on_boundaries() -> None:
    assert match('"router died"', "my Router died again")
    assert not match('"router died"', "died router")
    assert not match('"router died"', "routers died")


def test_boolean_operators_and_lang() -> None:
    assert match("acme (router OR modem) -wifi", "acme modem broke")
    assert not match("acme (router OR modem) -wifi", "acme modem wifi broke")
    assert match("acme lang:en", "acme", lang="en-GB")
    assert not match("acme lang:en", "acme", lang="da")
    assert not match("acme lang:pt-br", "acme", lang="pt")
    assert match("acme lang:pt", "acme", lang="pt_BR")


def test_unaddressed_mention_is_flagged() -> None:
    matcher = CompiledMatcher.build([ACME])
    [hit] = matcher.match(PostView("my Acme router died again"))
    assert hit == RuleMatch(1, 100, True, ("acme",))


def test_mention_with_a_brand_handle_is_not_unaddressed() -> None:
    matcher = CompiledMatcher.build([ACME])
    [hit] = matcher.match(PostView("@AcmeCare my Acme router died"))
    assert not hit.unaddressed
    assert hit.matched_terms == ("@AcmeCare", "acme")


def test_reply_to_the_brand_is_not_unaddressed() -> None:
    matcher = CompiledMatcher.build([ACME])
    [hit] = matcher.match(PostView("still broken, acme", is_reply_to_brand=True))
    assert not hit.unaddressed


def test_misspelling_alternative_is_matched_and_unaddressed_uses_brand_terms() -> None:
    matcher = CompiledMatcher.build([ACME])
    [hit] = matcher.match(PostView("akme support is slow"))
    assert hit.matched_terms == ("akme",)
    assert not hit.unaddressed  # "akme" is not one of the brand terms given
    spec = RuleSpec(2, 100, "acme~{akme}", brand_handles=("@AcmeCare",))
    [hit] = CompiledMatcher.build([spec]).match(PostView("akme support is slow"))
    assert hit.unaddressed  # without brand_terms, the rule's own words name the brand


def test_brand_own_posts_are_excluded_by_minus_from() -> None:
    matcher = CompiledMatcher.build([ACME])
    assert matcher.match(PostView("Acme news!", author_handle="@AcmeCare")) == []
    assert matcher.match(PostView("Acme news!", author_handle="acme")) == []
    assert len(matcher.match(PostView("Acme news!", author_handle="@customer"))) == 1


def test_rules_of_many_workspaces_each_report_their_workspace() -> None:
    specs = [
        ACME,
        RuleSpec(2, 200, "router OR modem"),
        RuleSpec(3, 200, '"router died"'),
        RuleSpec(4, 300, "globex"),
    ]
    matcher = CompiledMatcher.build(specs)
    assert matcher.rule_count == 4
    grouped = matcher.match_workspaces(PostView("Acme router died"))
    assert sorted(grouped) == [100, 200]
    assert [m.rule_id for m in grouped[200]] == [2, 3]
    assert matcher.match(PostView("nothing to see")) == []


def test_rules_without_positive_terms_are_evaluated_for_every_post() -> None:
    specs = [
        RuleSpec(1, 1, "-spam"),
        RuleSpec(2, 1, "lang:da"),
        RuleSpec(3, 1, "from:vip OR acme"),
        RuleSpec(4, 1, "NOT (NOT acme)"),
    ]
    matcher = CompiledMatcher.build(specs)
    assert matcher.always_evaluated_count == 4
    ids = lambda post: [m.rule_id for m in matcher.match(post)]  # noqa: E731
    assert ids(PostView("hello")) == [1]
    assert ids(PostView("spam hello")) == []
    assert ids(PostView("hej", lang="da")) == [1, 2]
    assert ids(PostView("spam", author_handle="@VIP")) == [3]
    assert ids(PostView("acme")) == [1, 3, 4]


def test_repeated_hit_sets_still_get_results_for_each_post() -> None:
    # Candidates and match objects are memoised per hit set and per rule: the same terms in
    # posts with another author, reply state or language must still be judged afresh.
    specs = [ACME, RuleSpec(2, 200, "router lang:en"), RuleSpec(3, 200, "acme router")]
    matcher = CompiledMatcher.build(specs)
    text = "Acme router died"
    for _ in range(2):
        assert [(m.rule_id, m.unaddressed) for m in matcher.match(PostView(text, lang="en"))] == [
            (1, True),
            (2, True),  # no brand terms given: its own words name the brand
            (3, True),
        ]
        assert [m.rule_id for m in matcher.match(PostView(text, author_handle="@acme"))] == [3]
        replied = matcher.match(PostView(text, is_reply_to_brand=True, lang="da"))
        assert [(m.rule_id, m.unaddressed) for m in replied] == [(1, False), (3, False)]
        assert matcher.match(PostView("@AcmeCare router"))[0].matched_terms == ("@AcmeCare",)


def test_empty_matcher_matches_nothing() -> None:
    matcher = CompiledMatcher.build([])
    assert matcher.rule_count == 0
    assert matcher.match(PostView("acme")) == []


def test_bad_rule_error_names_the_rule() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        CompiledMatcher.build([ACME, RuleSpec(42, 1, "acme AND (router")])
    assert info.value.rule_id == 42
    assert info.value.position == 9
    # Without the parentheses, -from: would bind to "#acme" only (AND before OR).
    unscoped = RuleSpec(5, 1, "acme OR #acme -from:AcmeCare")
    assert CompiledMatcher.build([unscoped]).match(PostView("acme", author_handle="AcmeCare"))
    assert "rule 42" in str(info.value)


def test_bad_rules_can_be_skipped_and_reported() -> None:
    matcher = CompiledMatcher.build(
        [ACME, RuleSpec(42, 1, "lang:xx"), RuleSpec(43, 1, '""')], on_error="skip"
    )
    assert matcher.rule_count == 1
    assert [e.rule_id for e in matcher.errors] == [42, 43]


def test_duplicate_rule_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        CompiledMatcher.build([ACME, ACME])


def test_term_frequencies_change_nothing_but_speed() -> None:
    specs = [RuleSpec(1, 1, "acme router"), RuleSpec(2, 1, "(acme OR globex) (help OR broken)")]
    posts = [PostView(t) for t in ("acme router", "router", "globex help", "help", "acme")]
    plain = CompiledMatcher.build(specs)
    tuned = CompiledMatcher.build(specs, term_frequencies={"acme": 0.9, "help": 0.0001})
    assert [plain.match(p) for p in posts] == [tuned.match(p) for p in posts]


def test_live_rule_test_reports_errors_with_position() -> None:
    result = check_rule("acme OR", "acme")
    assert not result.valid and not result.matched
    assert result.error_position == 5
    assert result.error_pretty is not None and "^^" in result.error_pretty


def test_live_rule_test_reports_hit_terms_and_canonical_form() -> None:
    result = check_rule('acme~{akme} "router died" or', "Akme router died or not")
    assert result.matched
    assert result.matched_terms == ("akme", '"router died"', "or")
    assert result.canonical == '(acme OR akme) "router died" or'
    assert any("write OR" in w for w in result.warnings)


@pytest.mark.parametrize(
    "text",
    ["", "\udcff acme", "acme\x00", "<b>acme</b>", "acme " * 100_000, "🙂" * 1000],
)
def test_any_post_text_gets_a_defined_result(text: str) -> None:
    matcher = CompiledMatcher.build([ACME, RuleSpec(2, 1, "-spam"), RuleSpec(3, 1, '":)"')])
    result = matcher.match(PostView(text))
    assert isinstance(result, list)
