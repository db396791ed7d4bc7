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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Final, Literal

from caredesk.listening.codegen import (
    Check,
    Compiler,
    EvalFn,
    generate,
    is_plain_disjunction,
    term_cost,
    triggers,
)
from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.nodes import (
    Node,
    Term,
    TermKind,
    iter_terms,
)
from caredesk.listening.normalize import normalize_text
from caredesk.listening.parser import parse_rule
from caredesk.listening.term_index import TermIndex
from caredesk.listening.terms import (
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


_POOL_CACHE_SIZE: Final = 20_000
_MADE_PER_RULE: Final = 32


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


@dataclass(frozen=True, slots=True)
class _Rule:
    index: int
    rule_id: int
    workspace_id: int
    evaluate: EvalFn | None  # None: true whenever one of its trigger terms hit
    shown_terms: tuple[tuple[str, Check], ...]  # positive terms: as written, how to check
    lazy_shown: bool  # some shown term is not in the automaton
    name_ids: frozenset[int]  # brand names and handles are always in the automaton
    handle_ids: frozenset[int]
    own_authors: frozenset[str]


_Plan = tuple[
    EvalFn | None,
    frozenset[int],
    frozenset[int],
    frozenset[str],
    tuple[tuple[str, int], ...],
    tuple[tuple[str, Check], ...] | None,
    dict[tuple[bool, tuple[str, ...]], RuleMatch],
]


def _present(check: Check, hits: set[int], text: str) -> bool:
    tid, pattern, left, right = check
    return tid in hits if tid >= 0 else find_term(text, pattern, left, right)


class CompiledMatcher:
    """Immutable once built; safe to share between threads (its two memo caches are bounded
    and hold only values that are the same whichever thread computes them)."""

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
        # Per-post hot path: candidates of a single hit, and each rule as one flat tuple.
        self._single = [tuple(sorted(r + always)) if always else r for r in term_rules]
        self._plans: list[_Plan] = [
            (
                r.evaluate,
                r.name_ids,
                r.handle_ids,
                r.own_authors,
                tuple((shown, check[0]) for shown, check in r.shown_terms),
                r.shown_terms if r.lazy_shown else None,
                {},
            )
            for r in rules
        ]
        self._pool_cache: dict[frozenset[int], tuple[int, ...]] = {}

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
            found = triggers(node, partial(term_cost, brand=brand, frequencies=frequencies))
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
        compiler = Compiler(automaton_terms)
        rules: list[_Rule] = []
        sources: list[tuple[int, str]] = []
        for index, (spec, node, _names, _handles) in enumerate(parsed):
            names, handles = rule_names[index]
            shown: dict[str, tuple[str, Check]] = {}
            for term, is_positive in iter_terms(node):
                if is_positive:
                    shown.setdefault(term.pattern, (term.display(), compiler.check(term)))
            if not (is_plain_disjunction(node) and rule_triggers[index] is not None):
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
        functions = generate(sources)
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

    def _candidates(self, hits: set[int]) -> tuple[int, ...]:
        """Rules to evaluate for a post with these hits, in build order. Posts repeat the same
        few hit sets (a brand's name and handle), so the sorted union is memoised."""
        key = frozenset(hits)
        found = self._pool_cache.get(key)
        if found is None:
            pool: set[int] = set(self._always)
            for tid in hits:
                pool.update(self._term_rules[tid])
            found = tuple(sorted(pool))
            if len(self._pool_cache) >= _POOL_CACHE_SIZE:  # bounded for hostile input
                self._pool_cache.clear()
            self._pool_cache[key] = found
        return found

    def match(self, post: PostView) -> list[RuleMatch]:
        """Every rule that matches ``post``, in build order. Never raises on post content."""
        text = normalize_text(post.text)
        hits = self._index.hits(text) if text else set()
        if not hits:
            candidates = self._always
        elif len(hits) == 1:
            (tid,) = hits
            candidates = self._single[tid]
        else:
            candidates = self._candidates(hits)
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
        reply = post.is_reply_to_brand
        plans = self._plans
        out: list[RuleMatch] = []
        for index in candidates:
            evaluate, names, handles, own, shown_ids, lazy_terms, made = plans[index]
            if evaluate is not None and not evaluate(hits, text, lg, lp, au):
                continue
            unaddressed = (
                not reply
                and not hits.isdisjoint(names)
                and hits.isdisjoint(handles)
                and au not in own
            )
            if lazy_terms is None:
                shown = tuple([s for s, tid in shown_ids if tid in hits])
            else:
                shown = tuple([s for s, c in lazy_terms if _present(c, hits, text)])
            # RuleMatch is immutable and a frozen dataclass is slow to create: reuse them.
            key = (unaddressed, shown)
            found = made.get(key)
            if found is None:
                rule = self._rules[index]
                found = RuleMatch(rule.rule_id, rule.workspace_id, unaddressed, shown)
                if len(made) < _MADE_PER_RULE:
                    made[key] = found
            out.append(found)
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
