"""Reference matcher: evaluate every rule against every post, term by term.

Slow on purpose (cost grows with the number of rules). It exists to check the compiled matcher
in tests and to give the benchmark its baseline; it shares only normalisation and the boundary
definition with :mod:`caredesk.listening.matcher`.
"""

from __future__ import annotations

from collections.abc import Iterable

from caredesk.listening.matcher import PostView, RuleMatch, RuleSpec, normalize_handle
from caredesk.listening.nodes import And, From, Lang, Node, Not, Or, Term, TermKind, iter_terms
from caredesk.listening.normalize import normalize_text
from caredesk.listening.parser import parse_rule
from caredesk.listening.terms import boundary_modes, occurs_at, term_from_text


def term_occurs(pattern: str, text: str) -> bool:
    """Whether ``pattern`` occurs in normalised ``text`` on word boundaries."""
    left, right = boundary_modes(pattern)
    start = text.find(pattern)
    while start >= 0:
        if occurs_at(text, start, start + len(pattern), left, right):
            return True
        start = text.find(pattern, start + 1)
    return False


def evaluate(node: Node, text: str, lang: str | None, author: str | None) -> bool:
    """Truth of a parsed rule for an already normalised ``text``."""
    if isinstance(node, Term):
        return term_occurs(node.pattern, text)
    if isinstance(node, Lang):
        tag = (lang or "").strip().lower().replace("_", "-")
        if "-" in node.code:
            return tag == node.code
        return tag.split("-", 1)[0] == node.code
    if isinstance(node, From):
        return normalize_handle(author) == node.handle
    if isinstance(node, Not):
        return not evaluate(node.child, text, lang, author)
    if isinstance(node, And):
        return all(evaluate(c, text, lang, author) for c in node.children)
    if isinstance(node, Or):
        return any(evaluate(c, text, lang, author) for c in node.children)
    raise TypeError(node)


class NaiveMatcher:
    def __init__(self, specs: Iterable[RuleSpec]) -> None:
        self._rules: list[tuple[RuleSpec, Node, list[Term], list[Term]]] = []
        for spec in specs:
            node = parse_rule(spec.query)
            names = [term_from_text(t) for t in spec.brand_terms]
            handles = [term_from_text("@" + h.strip().lstrip("@")) for h in spec.brand_handles]
            self._rules.append((spec, node, names, handles))

    def match(self, post: PostView) -> list[RuleMatch]:
        text = normalize_text(post.text)
        author = normalize_handle(post.author_handle)
        out: list[RuleMatch] = []
        for spec, node, names, handles in self._rules:
            if not evaluate(node, text, post.lang, post.author_handle):
                continue
            positive = [t for t, pos in iter_terms(node) if pos]
            shown: list[str] = []
            seen: set[str] = set()
            for t in positive:
                if t.pattern not in seen:
                    seen.add(t.pattern)
                    if term_occurs(t.pattern, text):
                        shown.append(t.display())
            rule_names = names or [t for t in positive if t.kind is not TermKind.HANDLE]
            rule_handles = handles + [t for t in positive if t.kind is TermKind.HANDLE]
            unaddressed = (
                not post.is_reply_to_brand
                and any(term_occurs(t.pattern, text) for t in rule_names)
                and not any(term_occurs(t.pattern, text) for t in rule_handles)
                and author not in {t.pattern[1:] for t in rule_handles}
            )
            out.append(RuleMatch(spec.rule_id, spec.workspace_id, unaddressed, tuple(shown)))
        return out
