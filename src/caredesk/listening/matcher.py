"""Compiled matcher over the listening rules of every workspace.

Build once, match every inbound post. At build time each rule gets a set of *trigger* terms (at
least one of them occurs in every post the rule matches; for ``a AND b`` the rarer side is
enough) and a small generated Python function for its boolean expression. The triggers, brand
names and brand handles of all rules go into one :class:`TermIndex` (word-run keys for ASCII
patterns, Aho-Corasick for the rest). A post is normalised once and looked up once, so the cost
grows with the post and its hits, not with the number of rules; only rules whose trigger hit
are evaluated, and their other terms are searched for then. Rules that can be true without any
of their terms (``-spam``, ``lang:da``) sit on a short always-evaluated list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Final, Literal

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
    iter_terms,
)
from caredesk.listening.normalize import normalize_text
from caredesk.listening.parser import parse_rule
from caredesk.listening.term_index import TermIndex
from caredesk.listening.terms import (
    boundary_modes,
    find_term,
    term_from_text,
)

__all__ = ["CompiledMatcher", "PostView", "RuleMatch", "RuleSpec", "normalize_handle"]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    rule_id: int
    workspace_id: int
    query: str
    brand_terms: tuple[str, ...] = ()  # brand/product names, for "unaddressed mention"
    brand_handles: tuple[str, ...] = ()  # the workspace's own handles, e.g. ("@AcmeCare",)


@dataclass(frozen=True, slots=True)
class PostView:
    text: str
    author_handle: str | None = None
    lang: str | None = None
    is_reply_to_brand: bool = False


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule_id: int
    workspace_id: int
    unaddressed: bool  # named the brand without any of its handles (and not a reply to it)
    matched_terms: tuple[str, ...]


EvalFn = Callable[[set[int], str, str, str, str], bool]
_GENERATED_BATCH: Final = 500


def normalize_handle(handle: str | None) -> str:
    if not handle:
        return ""
    handle = handle.strip()
    return normalize_text(handle[1:] if handle.startswith("@") else handle)


_LANG_CACHE: dict[str | None, tuple[str, str]] = {}
_AUTHOR_CACHE: dict[str, str] = {}


def _normalize_lang(lang: str | None) -> tuple[str, str]:
    if not lang:
        return "", ""
    full = lang.strip().lower().replace("_", "-")
    return full, full.split("-", 1)[0]


_Check = tuple[int, str, bool, int]  # AC term id (-1: not in the automaton), pattern, modes


@dataclass(frozen=True, slots=True)
class _Rule:
    index: int
    rule_id: int
    workspace_id: int
    evaluate: EvalFn | None  # None: true whenever one of its trigger terms hit
    shown_terms: tuple[tuple[str, _Check], ...]  # positive terms: as written, how to check
    lazy_shown: bool  # some shown term is not in the automaton
    name_ids: frozenset[int]  # brand names and handles are always in the automaton
    handle_ids: frozenset[int]
    own_authors: frozenset[str]


def _present(check: _Check, hits: set[int], text: str) -> bool:
    tid, pattern, left, right = check
    return tid in hits if tid >= 0 else find_term(text, pattern, left, right)


def _term_cost(term: Term, *, brand: frozenset[str], frequencies: Mapping[str, float]) -> float:
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


def _triggers(node: Node, cost: Callable[[Term], float]) -> tuple[list[Term], float] | None:
    """Terms of which at least one occurs in every post the rule matches, and their cost;
    None when the rule can be true without any term (it must see every post)."""
    if isinstance(node, Term):
        return [node], cost(node)
    if isinstance(node, Or):
        terms: list[Term] = []
        total = 0.0
        for child in node.children:
            sub = _triggers(child, cost)
            if sub is None:
                return None
            terms.extend(sub[0])
            total += sub[1]
        return terms, total
    if isinstance(node, And):  # every child must hold: the cheapest child's triggers suffice
        options = [t for t in (_triggers(c, cost) for c in node.children) if t is not None]
        return min(options, key=lambda t: t[1]) if options else None
    return None  # lang:, from:, NOT


class _Compiler:
    """Turns rules into generated evaluation code over automaton hits."""

    def __init__(self, automaton_terms: dict[str, int]) -> None:
        self.term_ids = automaton_terms

    def check(self, term: Term) -> _Check:
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


def _is_plain_disjunction(node: Node) -> bool:
    if isinstance(node, Term):
        return True
    return isinstance(node, Or) and all(isinstance(c, Term) for c in node.children)


def _generate(sources: list[tuple[int, str]]) -> dict[int, EvalFn]:
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


class CompiledMatcher:
    """Immutable once built; safe to share between threads."""

    def __init__(
        self,
        rules: list[_Rule],
        term_rules: list[tuple[int, ...]],
        always: tuple[int, ...],
        errors: tuple[RuleSyntaxError, ...],
        index: TermIndex,
    ) -> None:
        self._rules = rules
        self._index = index
        self._term_rules = term_rules
        self._always = always
        self.errors = errors
        self.rule_count = len(rules)
        self.term_count = len(term_rules)  # terms in the automaton (the rules' triggers)

    @classmethod
    def build(
        cls,
        specs: Iterable[RuleSpec],
        *,
        on_error: Literal["raise", "skip"] = "raise",
        term_frequencies: Mapping[str, float] | None = None,
    ) -> CompiledMatcher:
        """Compile ``specs``. A bad rule raises :class:`RuleSyntaxError` naming its rule_id,
        or with ``on_error="skip"`` is left out and reported in :attr:`errors`.

        ``term_frequencies`` (normalised pattern -> share of posts containing it, e.g. counted
        over recent posts) improves the choice of trigger terms; without it term length and
        kind are used as a guess. It changes speed only, never results.
        """
        frequencies = term_frequencies or {}
        parsed: list[tuple[RuleSpec, Node, list[Term], list[Term]]] = []
        errors: list[RuleSyntaxError] = []
        seen: set[int] = set()
        for spec in specs:
            if spec.rule_id in seen:
                raise ValueError(f"duplicate rule_id {spec.rule_id}")
            seen.add(spec.rule_id)
            try:
                node = parse_rule(spec.query)
                names = [term_from_text(t, rule_id=spec.rule_id) for t in spec.brand_terms]
                handles = [
                    term_from_text("@" + h.strip().lstrip("@"), rule_id=spec.rule_id)
                    for h in spec.brand_handles
                ]
            except RuleSyntaxError as exc:
                err = exc.with_context(query=exc.query or spec.query, rule_id=spec.rule_id)
                if on_error == "raise":
                    raise err from None
                errors.append(err)
                continue
            parsed.append((spec, node, names, handles))

        # Pass 1: trigger terms; only they go into the automaton.
        automaton_terms: dict[str, int] = {}
        rule_triggers: list[list[int] | None] = []
        for _spec, node, names, handles in parsed:
            brand = frozenset(t.pattern for t in (*names, *handles))
            found = _triggers(node, partial(_term_cost, brand=brand, frequencies=frequencies))
            if found is None:
                rule_triggers.append(None)
                continue
            ids = []
            for term in found[0]:
                tid = automaton_terms.setdefault(term.pattern, len(automaton_terms))
                if tid not in ids:
                    ids.append(tid)
            rule_triggers.append(ids)
        # Brand names and handles decide "unaddressed" for every match: keep them in the index.
        rule_names: list[tuple[list[Term], list[Term]]] = []
        for _spec, node, names, handles in parsed:
            positive = [t for t, pos in iter_terms(node) if pos]
            if not names:  # the rule's own words name the brand
                names = [t for t in positive if t.kind is not TermKind.HANDLE]
            handles = handles + [t for t in positive if t.kind is TermKind.HANDLE]
            for term in (*names, *handles):
                automaton_terms.setdefault(term.pattern, len(automaton_terms))
            rule_names.append((names, handles))

        # Pass 2: evaluation code and what to report for a match.
        compiler = _Compiler(automaton_terms)
        rules: list[_Rule] = []
        sources: list[tuple[int, str]] = []
        for index, (spec, node, _names, _handles) in enumerate(parsed):
            names, handles = rule_names[index]
            shown: dict[str, tuple[str, _Check]] = {}
            for term, is_positive in iter_terms(node):
                if is_positive:
                    shown.setdefault(term.pattern, (term.display(), compiler.check(term)))
            if not (_is_plain_disjunction(node) and rule_triggers[index] is not None):
                sources.append((index, compiler.expr(node)))
            rules.append(
                _Rule(
                    index=index,
                    rule_id=spec.rule_id,
                    workspace_id=spec.workspace_id,
                    evaluate=None,
                    shown_terms=tuple(shown.values()),
                    lazy_shown=any(check[0] < 0 for _, check in shown.values()),
                    name_ids=frozenset(automaton_terms[t.pattern] for t in names),
                    handle_ids=frozenset(automaton_terms[t.pattern] for t in handles),
                    own_authors=frozenset(t.pattern[1:] for t in handles),
                )
            )
        functions = _generate(sources)
        rules = [replace(r, evaluate=functions.get(r.index)) for r in rules]
        term_rules: list[list[int]] = [[] for _ in automaton_terms]
        always: list[int] = []
        for index, trigger_ids in enumerate(rule_triggers):
            if trigger_ids is None:
                always.append(index)
            else:
                for tid in trigger_ids:
                    term_rules[tid].append(index)
        return cls(
            rules,
            [tuple(r) for r in term_rules],
            tuple(always),
            tuple(errors),
            TermIndex.build(automaton_terms),
        )

    # -- matching ------------------------------------------------------------------------------

    def _hits(self, text: str) -> set[int]:
        return self._index.hits(text)

    def match(self, post: PostView) -> list[RuleMatch]:
        """Every rule that matches ``post``, in build order. Never raises on post content."""
        text = normalize_text(post.text)
        hits = self._index.hits(text) if text else set()
        term_rules = self._term_rules
        always = self._always
        candidates: Iterable[int]
        if not hits:
            if not always:
                return []
            candidates = always
        elif len(hits) == 1:
            (tid,) = hits
            candidates = sorted(term_rules[tid] + always) if always else term_rules[tid]
        else:
            pool: set[int] = set(always)
            for tid in hits:
                pool.update(term_rules[tid])
            candidates = sorted(pool)
        if not candidates:
            return []
        lang = _LANG_CACHE.get(post.lang)
        if lang is None:
            lang = _normalize_lang(post.lang)
            if len(_LANG_CACHE) < 10_000:  # language tags are few; hostile input stays bounded
                _LANG_CACHE[post.lang] = lang
        lg, lp = lang
        author = post.author_handle or ""
        au = _AUTHOR_CACHE.get(author)
        if au is None:
            au = normalize_handle(author)
            if len(_AUTHOR_CACHE) >= 50_000:  # bounded: authors are many, repeats common
                _AUTHOR_CACHE.clear()
            _AUTHOR_CACHE[author] = au
        rules = self._rules
        out: list[RuleMatch] = []
        for index in candidates:
            rule = rules[index]
            if rule.evaluate is not None and not rule.evaluate(hits, text, lg, lp, au):
                continue
            unaddressed = (
                not post.is_reply_to_brand
                and not hits.isdisjoint(rule.name_ids)
                and hits.isdisjoint(rule.handle_ids)
                and au not in rule.own_authors
            )
            if rule.lazy_shown:
                shown = tuple([s for s, c in rule.shown_terms if _present(c, hits, text)])
            else:
                shown = tuple([s for s, c in rule.shown_terms if c[0] in hits])
            out.append(RuleMatch(rule.rule_id, rule.workspace_id, unaddressed, shown))
        return out

    def match_workspaces(self, post: PostView) -> dict[int, list[RuleMatch]]:
        """Matches grouped by workspace: one stored mention per workspace that matched."""
        grouped: dict[int, list[RuleMatch]] = {}
        for m in self.match(post):
            grouped.setdefault(m.workspace_id, []).append(m)
        return grouped

    @property
    def always_evaluated_count(self) -> int:
        return len(self._always)

    def index_size_bytes(self) -> int:
        """Approximate size of the term index (keys and automata)."""
        return self._index.size_bytes()
