"""Build-time half of the compiled matcher: trigger terms and generated evaluation code.

Used by :mod:`caredesk.listening.matcher`; kept apart so the matcher module holds the per-post
path and its data layout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from caredesk.listening.nodes import And, From, Lang, Node, Not, Or, Term, TermKind
from caredesk.listening.terms import boundary_modes, find_term

__all__ = [
    "Check",
    "Compiler",
    "EvalFn",
    "generate",
    "is_plain_disjunction",
    "term_cost",
    "triggers",
]

EvalFn = Callable[[set[int], str, str, str, str], bool]
Check = tuple[int, str, bool, int]  # AC term id (-1: not in the automaton), pattern, modes
_GENERATED_BATCH: Final = 500


def term_cost(term: Term, *, brand: frozenset[str], frequencies: Mapping[str, float]) -> float:
    """Guess how often a term occurs; rarer terms make better triggers."""
    known = frequencies.get(term.pattern)
    if known is not None:
        return known
    if term.kind is TermKind.HANDLE:
        cost = 0.2
    elif term.kind is TermKind.HASHTAG:
        cost = 0.3
    elif " " in term.pattern:
        cost = 0.15
    else:
        cost = 4.0 / max(2, len(term.pattern))  # short words are the common ones
    return cost * 0.3 if term.pattern in brand else cost


def triggers(node: Node, cost: Callable[[Term], float]) -> tuple[list[Term], float] | None:
    """Terms of which at least one occurs in every post the rule matches, and their cost;
    None when the rule can be true without any term (it must see every post)."""
    if isinstance(node, Term):
        return [node], cost(node)
    if isinstance(node, Or):
        terms: list[Term] = []
        total = 0.0
        for child in node.children:
            sub = triggers(child, cost)
            if sub is None:
                return None
            terms.extend(sub[0])
            total += sub[1]
        return terms, total
    if isinstance(node, And):  # every child must hold: the cheapest child's triggers suffice
        options = [t for t in (triggers(c, cost) for c in node.children) if t is not None]
        return min(options, key=lambda t: t[1]) if options else None
    return None  # lang:, from:, NOT


class Compiler:
    """Turns rules into generated evaluation code over automaton hits."""

    def __init__(self, automaton_terms: dict[str, int]) -> None:
        self.term_ids = automaton_terms

    def check(self, term: Term) -> Check:
        left, right = boundary_modes(term.pattern)
        return self.term_ids.get(term.pattern, -1), term.pattern, left, right

    def expr(self, node: Node) -> str:
        if isinstance(node, Term):
            tid, pattern, left, right = self.check(node)
            if tid >= 0:
                return f"{tid} in h"
            # ``in`` (C speed) rules most posts out before the boundary-checked search.
            return f"({pattern!r} in t and _find(t, {pattern!r}, {left!r}, {right!r}))"
        if isinstance(node, Lang):
            return f"{'lg' if '-' in node.code else 'lp'} == {node.code!r}"
        if isinstance(node, From):
            return f"au == {node.handle!r}"
        if isinstance(node, Not):
            return f"not ({self.expr(node.child)})"
        joiner = " and " if isinstance(node, And) else " or "
        # Automaton lookups are cheap and text searches are not: test them first.
        parts = sorted(node.children, key=lambda c: not (isinstance(c, Term)))
        return "(" + joiner.join(self.expr(c) for c in parts) + ")"


def is_plain_disjunction(node: Node) -> bool:
    if isinstance(node, Term):
        return True
    return isinstance(node, Or) and all(isinstance(c, Term) for c in node.children)


def generate(sources: list[tuple[int, str]]) -> dict[int, EvalFn]:
    """Compile ``def _r<index>(h, t, lg, lp, au): return <expr>`` for many rules at once.

    The expressions contain only integers, operators, names defined here and ``repr()``
    literals of patterns, language codes and handles, so executing them is safe.
    """
    out: dict[int, EvalFn] = {}
    for lo in range(0, len(sources), _GENERATED_BATCH):
        batch = sources[lo : lo + _GENERATED_BATCH]
        code = "\n".join(f"def _r{i}(h, t, lg, lp, au):\n    return {e}" for i, e in batch)
        namespace: dict[str, Any] = {"_find": find_term}
        exec(compile(code, "<listening rules>", "exec"), namespace)  # noqa: S102
        for i, _ in batch:
            out[i] = namespace[f"_r{i}"]
    return out
