"""Syntax tree of a listening rule, and its canonical text form."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class TermKind(StrEnum):
    WORD = "word"
    PHRASE = "phrase"
    HASHTAG = "hashtag"
    HANDLE = "handle"


@dataclass(frozen=True, slots=True)
class Term:
    """Text to find in the post. ``text`` is as written (hashtags/handles keep ``#``/``@``);
    ``pattern`` is its normalised form, the string actually searched for."""

    kind: TermKind
    text: str
    pattern: str
    position: int = field(default=0, compare=False)

    def display(self) -> str:
        return f'"{self.text}"' if self.kind is TermKind.PHRASE else self.text


@dataclass(frozen=True, slots=True)
class Lang:
    """``lang:xx`` — the post's language tag equals ``code`` or starts with ``code-``."""

    code: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class From:
    """``from:handle`` — the post's author; ``handle`` is normalised, without ``@``."""

    handle: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Lang | From | Not | And | Or


def to_string(node: Node) -> str:
    """Canonical text of a rule; ``parse_rule(to_string(n)) == n``."""
    if isinstance(node, Term):
        return node.display()
    if isinstance(node, Lang):
        return f"lang:{node.code}"
    if isinstance(node, From):
        return f"from:{node.handle}"
    if isinstance(node, Not):
        inner = node.child
        if isinstance(inner, And | Or | Not):
            return f"-({to_string(inner)})"
        return f"-{to_string(inner)}"
    if isinstance(node, And):
        return " ".join(
            f"({to_string(c)})" if isinstance(c, Or) else to_string(c) for c in node.children
        )
    return " OR ".join(to_string(c) for c in node.children)


def iter_terms(node: Node) -> Iterator[tuple[Term, bool]]:
    """Every term with its polarity (True when under an even number of NOTs)."""
    stack: list[tuple[Node, bool]] = [(node, True)]
    while stack:
        current, positive = stack.pop()
        if isinstance(current, Term):
            yield current, positive
        elif isinstance(current, Not):
            stack.append((current.child, not positive))
        elif isinstance(current, And | Or):
            stack.extend((c, positive) for c in reversed(current.children))


def can_match_without_terms(node: Node) -> bool:
    """Whether the rule could be true for a post in which none of its terms occur.

    Such rules (``-spam``, ``lang:da``, ``from:x OR acme``) cannot be found through the term
    index and must be evaluated for every post. Over-approximates: safe, never misses.
    """
    return True in _possible(node)


def _possible(node: Node) -> frozenset[bool]:
    if isinstance(node, Term):
        return frozenset({False})
    if isinstance(node, Lang | From):
        return frozenset({True, False})
    if isinstance(node, Not):
        return frozenset(not v for v in _possible(node.child))
    parts = [_possible(c) for c in node.children]
    if isinstance(node, And):
        can_true = all(True in p for p in parts)
        can_false = any(False in p for p in parts)
    else:
        can_true = any(True in p for p in parts)
        can_false = all(False in p for p in parts)
    return frozenset(v for v, ok in ((True, can_true), (False, can_false)) if ok)
