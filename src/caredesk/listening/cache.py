"""The compiled matcher of every workspace's rules, cached per process.

Compiling 1,000 rules takes a few hundred milliseconds, so it happens only when something it
depends on changed: each workspace's rule/brand version token (set by the ``do_*`` writes, read
with one query) and the set of active account handles (the brand's own handles). Per-workspace
matchers (for previews against stored rules) are built lazily from the same snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from caredesk.listening import repository as repo
from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.matcher import CompiledMatcher, RuleSpec, normalize_handle
from caredesk.listening.terms import boundary_modes, find_term, term_from_text


@dataclass(frozen=True, slots=True)
class BrandInfo:
    """A workspace's brand names and own handles, normalised for matching."""

    workspace_id: int
    terms: tuple[str, ...]  # as configured, for RuleSpec
    handles: tuple[str, ...]  # without '@', as configured
    name_patterns: tuple[tuple[str, bool, int], ...]
    handle_patterns: tuple[tuple[str, bool, int], ...]
    own_authors: frozenset[str]

    def names_brand(self, text: str) -> bool:
        return any(find_term(text, p, left, right) for p, left, right in self.name_patterns)

    def has_handle(self, text: str) -> bool:
        return any(find_term(text, p, left, right) for p, left, right in self.handle_patterns)


def _patterns(texts: Iterable[str]) -> tuple[tuple[str, bool, int], ...]:
    out = []
    for text in texts:
        try:
            pattern = term_from_text(text).pattern
        except RuleSyntaxError:
            continue  # not searchable; validated on save, so only legacy data gets here
        out.append((pattern, *boundary_modes(pattern)))
    return tuple(out)


def brand_info(
    workspace_id: int, settings: Mapping[str, Any], account_handles: Iterable[str]
) -> BrandInfo:
    data = settings.get("listening") if isinstance(settings.get("listening"), dict) else settings
    terms = tuple(str(t) for t in (data or {}).get("brand_terms") or ())
    handles: list[str] = []
    for h in (*account_handles, *((data or {}).get("brand_handles") or ())):
        h = str(h).strip().lstrip("@")
        if h and h not in handles:
            handles.append(h)
    return BrandInfo(
        workspace_id=workspace_id,
        terms=terms,
        handles=tuple(handles),
        name_patterns=_patterns(terms),
        handle_patterns=_patterns("@" + h for h in handles),
        own_authors=frozenset(normalize_handle(h) for h in handles),
    )


_NO_BRAND = BrandInfo(0, (), (), (), (), frozenset())


@dataclass
class Snapshot:
    key: tuple[Any, ...]
    matcher: CompiledMatcher
    specs: dict[int, list[RuleSpec]]  # per workspace
    brands: dict[int, BrandInfo]
    rule_names: dict[int, str]
    errors: dict[int, RuleSyntaxError]  # rule id -> why it is left out
    per_workspace: dict[int, CompiledMatcher] = field(default_factory=dict)

    def brand(self, workspace_id: int) -> BrandInfo:
        return self.brands.get(workspace_id, _NO_BRAND)

    def workspace_matcher(self, workspace_id: int) -> CompiledMatcher:
        matcher = self.per_workspace.get(workspace_id)
        if matcher is None:
            matcher = CompiledMatcher.build(self.specs.get(workspace_id, []), on_error="skip")
            self.per_workspace[workspace_id] = matcher
        return matcher


class RuleBook:
    """Process-wide cache; safe to use from request threads and job workers at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self.builds = 0  # how often the matcher was compiled (tests check invalidation)

    def state(self, session: Session) -> Snapshot:
        handles = repo.account_handles(session)
        key = (str(session.get_bind().engine.url), repo.version_sum(session), tuple(handles))
        snapshot = self._snapshot
        if snapshot is not None and snapshot.key == key:
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or snapshot.key != key:
                snapshot = self._build(session, key, handles)
                self._snapshot = snapshot
        return snapshot

    def invalidate(self) -> None:
        self._snapshot = None

    def _build(
        self, session: Session, key: tuple[Any, ...], handles: list[tuple[int, str]]
    ) -> Snapshot:
        rules = repo.active_rules(session)
        by_ws: dict[int, list[str]] = {}
        for ws_id, handle in handles:
            by_ws.setdefault(ws_id, []).append(handle)
        ws_ids = sorted({r.workspace_id for r in rules} | set(by_ws))
        settings = repo.workspace_settings(session, ws_ids)
        brands = {w: brand_info(w, settings.get(w, {}), by_ws.get(w, ())) for w in ws_ids}
        specs: dict[int, list[RuleSpec]] = {}
        errors: dict[int, RuleSyntaxError] = {}
        for rule in rules:
            brand = brands[rule.workspace_id]
            terms = tuple(dict.fromkeys([*(rule.brand_terms or ()), *brand.terms]))
            spec = RuleSpec(rule.id, rule.workspace_id, rule.query, terms, brand.handles)
            specs.setdefault(rule.workspace_id, []).append(spec)
        # A rule saved under an older grammar must not take the others down: skip and report.
        matcher = CompiledMatcher.build([s for ws in specs.values() for s in ws], on_error="skip")
        for exc in matcher.errors:
            if exc.rule_id is not None:
                errors[exc.rule_id] = exc
        self.builds += 1
        return Snapshot(
            key=key,
            matcher=matcher,
            specs=specs,
            brands=brands,
            rule_names={r.id: r.name for r in rules},
            errors=errors,
        )


RULEBOOK = RuleBook()
