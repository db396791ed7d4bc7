"""The admin UI's live "test this rule" box."""

from __future__ import annotations

from dataclasses import dataclass

from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.matcher import CompiledMatcher, PostView, RuleSpec
from caredesk.listening.nodes import to_string
from caredesk.listening.normalize import normalize_text
from caredesk.listening.parser import parse_rule
from caredesk.listening.rule_language import lint_rule


@dataclass(frozen=True, slots=True)
class RuleTestResult:
    valid: bool
    matched: bool
    unaddressed: bool
    matched_terms: tuple[str, ...]
    canonical: str  # the rule as the matcher understood it ("" when invalid)
    normalized_text: str  # the post as the matcher sees it
    warnings: tuple[str, ...] = ()
    error: str | None = None
    error_position: int | None = None
    error_pretty: str | None = None


def test_rule(
    query: str,
    text: str,
    *,
    author_handle: str | None = None,
    lang: str | None = None,
    is_reply_to_brand: bool = False,
    brand_terms: tuple[str, ...] = (),
    brand_handles: tuple[str, ...] = (),
) -> RuleTestResult:
    """Parse ``query`` and run it on one post exactly as the compiled matcher would.

    Never raises for bad rules: the error, its column and a caret rendering are returned.
    """
    normalized = normalize_text(text)
    try:
        node = parse_rule(query)
        matcher = CompiledMatcher.build(
            [RuleSpec(0, 0, query, tuple(brand_terms), tuple(brand_handles))]
        )
    except RuleSyntaxError as exc:
        return RuleTestResult(
            valid=False,
            matched=False,
            unaddressed=False,
            matched_terms=(),
            canonical="",
            normalized_text=normalized,
            error=exc.message,
            error_position=exc.position,
            error_pretty=exc.pretty(),
        )
    post = PostView(text, author_handle, lang, is_reply_to_brand)
    matches = matcher.match(post)
    hit = matches[0] if matches else None
    return RuleTestResult(
        valid=True,
        matched=hit is not None,
        unaddressed=hit.unaddressed if hit else False,
        matched_terms=hit.matched_terms if hit else (),
        canonical=to_string(node),
        normalized_text=normalized,
        warnings=tuple(lint_rule(node)),
    )


# Not a pytest test, despite the name the UI asks for.
test_rule.__test__ = False  # type: ignore[attr-defined]
