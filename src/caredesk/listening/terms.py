"""Boundary semantics of a term pattern, shared by the compiled and the reference matcher."""

from __future__ import annotations

from typing import Final

from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.lexer import tokenize
from caredesk.listening.nodes import Term, TermKind
from caredesk.listening.normalize import SUFFIXING, WORD, char_class, normalize_text

# Right-boundary modes.
RIGHT_NONE: Final = 0  # term ends in punctuation or a no-space script: anything may follow
RIGHT_STRICT: Final = 1  # no word character of a spaced script may follow
RIGHT_SUFFIX: Final = 2  # Dravidian-script ending: a Dravidian suffix may follow
RIGHT_HANDLE: Final = 3  # strict, and '@' may not follow (``@acme`` is not ``@acme@other``)


def boundary_modes(pattern: str) -> tuple[bool, int]:
    """(needs a left boundary, right-boundary mode) for a normalised pattern."""
    first, last = char_class(pattern[0]), char_class(pattern[-1])
    left = first in (WORD, SUFFIXING) or pattern[0] in "#@"
    if pattern[0] == "@" and " " not in pattern:
        right = RIGHT_HANDLE
    elif last == WORD:
        right = RIGHT_STRICT
    elif last == SUFFIXING:
        right = RIGHT_SUFFIX
    else:
        right = RIGHT_NONE
    return left, right


def occurs_at(text: str, start: int, end: int, left: bool, right: int) -> bool:
    """Whether ``text[start:end]`` (an occurrence of the pattern) stands on word boundaries."""
    if left and start > 0 and char_class(text[start - 1]) & 1:  # WORD or SUFFIXING
        return False
    if right and end < len(text):
        after = text[end]
        cls = char_class(after)
        if cls == WORD or (cls == SUFFIXING and right != RIGHT_SUFFIX):
            return False
        if right == RIGHT_HANDLE and after == "@":
            return False
    return True


def term_from_text(text: str, *, rule_id: int | None = None) -> Term:
    """A brand term or handle given as plain text (``Acme``, ``Acme Router``, ``#acme``,
    ``@AcmeCare``) as the rule language would read it."""
    stripped = text.strip()
    if not stripped:
        raise RuleSyntaxError("brand term is empty", 0, query=text, rule_id=rule_id)
    if " " not in stripped and '"' not in stripped:
        try:
            tokens = tokenize(stripped)
        except RuleSyntaxError:
            tokens = []  # not valid rule syntax (e.g. "Re:Store"): search it literally
        if len(tokens) == 2 and len(tokens[0].terms) == 1:
            return tokens[0].terms[0]
    pattern = normalize_text(stripped)
    if not pattern:
        raise RuleSyntaxError(
            "brand term has no searchable characters", 0, query=text, rule_id=rule_id
        )
    return Term(TermKind.PHRASE, stripped, pattern)


def find_term(text: str, pattern: str, left: bool, right: int) -> bool:
    """Whether ``pattern`` occurs in normalised ``text`` on word boundaries."""
    start = text.find(pattern)
    while start >= 0:
        if occurs_at(text, start, start + len(pattern), left, right):
            return True
        start = text.find(pattern, start + 1)
    return False
