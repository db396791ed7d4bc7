"""Listening: which posts a workspace hears (rule language, compiled matcher).

Pure code: no database, no web. See :mod:`caredesk.listening.rule_language` for the language
and its matching semantics, :mod:`caredesk.listening.normalize` for case/accent folding.
"""

from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.matcher import CompiledMatcher, PostView, RuleMatch, RuleSpec
from caredesk.listening.normalize import normalize_text
from caredesk.listening.parser import parse_rule
from caredesk.listening.preview import RuleTestResult, test_rule
from caredesk.listening.rule_language import canonical, lint_rule, to_string

__all__ = [
    "CompiledMatcher",
    "PostView",
    "RuleMatch",
    "RuleSpec",
    "RuleSyntaxError",
    "RuleTestResult",
    "canonical",
    "lint_rule",
    "normalize_text",
    "parse_rule",
    "test_rule",
    "to_string",
]
