"""The listening rule language: public entry points.

Grammar (precedence NOT > AND > OR; adjacent operands are ANDed)::

    rule    := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*
    unary   := "NOT" unary | "-" atom | atom
    atom    := "(" or ")" | term | term "~{" alt ("," alt)* "}" | "lang:" code | "from:" handle
    term    := word | '"' phrase '"' | "#" hashtag | "@" handle

Operators are upper case; lower-case ``and``/``or``/``not`` are words (and :func:`lint_rule`
warns about them). ``-term`` is ``NOT term`` and must be attached to its operand.
``acme~{acmee,akme}`` is sugar for ``(acme OR acmee OR akme)`` (misspellings).

Matching semantics (see :mod:`caredesk.listening.normalize` for folding):

* A word or phrase matches where it occurs as whole words: ``acme`` matches ``Acme's``,
  ``#acme``, ``@acme`` and ``acme.com`` but not ``acmeville`` or ``@acme_care``.
* ``#acme`` matches only that hashtag (``#Acme``, not ``#acmefail``); ``@acme`` matches only a
  mention of that account (not ``@acmecare``, ``bob@acme.com`` or ``@acme@other.social``).
* In scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar, Tibetan) and
  in Hangul (particles attach to nouns) no word boundary is required; in Telugu, Tamil, Kannada
  and Malayalam only the left boundary is, so case suffixes (``ఏసర్‌కి``) still match.
* ``lang:pt`` matches posts tagged ``pt`` and ``pt-BR``; ``lang:pt-br`` only the latter.
* ``from:acme`` compares the author's handle case-insensitively; ``-from:acme`` excludes it.
"""

from __future__ import annotations

from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.nodes import (
    And,
    From,
    Lang,
    Node,
    Not,
    Or,
    Term,
    TermKind,
    can_match_without_terms,
    iter_terms,
    to_string,
)
from caredesk.listening.parser import parse_rule

__all__ = [
    "And",
    "From",
    "Lang",
    "Node",
    "Not",
    "Or",
    "RuleSyntaxError",
    "Term",
    "TermKind",
    "can_match_without_terms",
    "canonical",
    "iter_terms",
    "lint_rule",
    "parse_rule",
    "to_string",
]

_LOWER_OPERATORS = {"and": "AND", "or": "OR", "not": "NOT"}


def canonical(query: str) -> str:
    """The rule re-rendered in canonical form (raises :class:`RuleSyntaxError`)."""
    return to_string(parse_rule(query))


def lint_rule(node: Node) -> list[str]:
    """Warnings for valid rules that probably do not mean what their author thinks."""
    warnings: list[str] = []
    for term, _positive in iter_terms(node):
        upper = _LOWER_OPERATORS.get(term.text)
        if term.kind is TermKind.WORD and upper is not None:
            warnings.append(
                f"'{term.text}' at column {term.position} is searched as a word; "
                f"write {upper} for the operator"
            )
    if can_match_without_terms(node):
        warnings.append(
            "this rule can match posts that contain none of its words "
            "(only lang:/from:/exclusions decide), so it sees every post"
        )
    return warnings
