"""Listening rules per workspace: ``do_*`` writes and hearing an inbound post.

A post that arrives on a care account (a mention, DM, comment addressed to the brand) is always
kept by that account's workspace; a post from a search/stream/listening source is kept by every
workspace with a matching rule and, when none matches, counted and dropped. Matched rules and
the "unaddressed mention" flag (the brand named without its @handle) go onto the message.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy.orm import Session

from caredesk.channels.base import InboundPost
from caredesk.events import E, record
from caredesk.ingest import repository as counters
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.listening import repository as repo
from caredesk.listening.cache import RULEBOOK, BrandInfo, Snapshot, brand_info
from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.matcher import PostView, RuleMatch, normalize_handle
from caredesk.listening.normalize import normalize_text
from caredesk.listening.parser import parse_rule
from caredesk.listening.rule_language import lint_rule
from caredesk.models import ListeningRule, Workspace

Source = Literal["account", "listening"]
SOURCES: Final = ("account", "listening")
MAX_QUERY_CHARS: Final = 2_000
MAX_BRAND_TERMS: Final = 100
MAX_TERM_CHARS: Final = 100


@dataclass(frozen=True, slots=True)
class Heard:
    """What listening decided for one workspace that keeps the post."""

    workspace_id: int
    source: str
    rule_ids: tuple[int, ...]
    rule_names: tuple[str, ...]
    terms: tuple[str, ...]
    unaddressed: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rule_ids": list(self.rule_ids),
            "rules": list(self.rule_names),
            "terms": list(self.terms),
            "unaddressed": self.unaddressed,
        }


def _invalid_rule(exc: RuleSyntaxError) -> ValidationFailed:
    return ValidationFailed(f"invalid rule: {exc.message} (column {exc.position})")


def check_query(query: str) -> list[str]:
    """Validate a rule; returns lint warnings, raises ValidationFailed naming the column."""
    if not query.strip():
        raise ValidationFailed("rule query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise ValidationFailed(f"rule query is longer than {MAX_QUERY_CHARS} characters")
    try:
        return lint_rule(parse_rule(query))
    except RuleSyntaxError as exc:
        raise _invalid_rule(exc) from None


def clean_terms(terms: Sequence[str], what: str = "brand term") -> list[str]:
    """Strip, drop empties and duplicates (case-insensitively), check each is searchable."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in terms:
        if not isinstance(raw, str):
            raise ValidationFailed(f"{what} must be text")
        term = raw.strip()
        if not term:
            continue
        if len(term) > MAX_TERM_CHARS:
            raise ValidationFailed(f"{what} {term[:30]!r}… is longer than {MAX_TERM_CHARS}")
        key = normalize_text(term)
        if not any(c.isalnum() for c in key):
            raise ValidationFailed(f"{what} {term!r} has no letters or digits")
        if key not in seen:
            seen.add(key)
            out.append(term)
    if len(out) > MAX_BRAND_TERMS:
        raise ValidationFailed(f"at most {MAX_BRAND_TERMS} {what}s")
    return out


def _changed(session: Session, workspace_id: int) -> None:
    repo.set_version(session, workspace_id, secrets.randbelow(2**40) + 1)


def _clean_name(session: Session, workspace_id: int, name: str, rule_id: int | None) -> str:
    name = name.strip()
    if not name or len(name) > 120:
        raise ValidationFailed("rule name must be 1 to 120 characters")
    other = repo.rule_by_name(session, workspace_id, name)
    if other is not None and other.id != rule_id:
        raise Conflict(f"this workspace already has a rule named {name!r}")
    return name


def do_create_rule(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    *,
    name: str,
    query: str,
    brand_terms: Sequence[str] = (),
    is_active: bool = True,
    actor_agent_id: int | None = None,
) -> ListeningRule:
    check_query(query)
    rule = ListeningRule(
        workspace_id=workspace.id,
        name=_clean_name(session, workspace.id, name, None),
        query=query.strip(),
        brand_terms=clean_terms(brand_terms),
        is_active=is_active,
        created_at=clock.now(),
    )
    session.add(rule)
    session.flush()
    _changed(session, workspace.id)
    _record(session, clock, E.LISTENING_RULE_SAVED, rule, actor_agent_id, created=True)
    return rule


def do_update_rule(
    session: Session,
    clock: Clock,
    rule: ListeningRule,
    *,
    name: str | None = None,
    query: str | None = None,
    brand_terms: Sequence[str] | None = None,
    is_active: bool | None = None,
    actor_agent_id: int | None = None,
) -> ListeningRule:
    if name is not None:
        rule.name = _clean_name(session, rule.workspace_id, name, rule.id)
    if query is not None:
        check_query(query)
        rule.query = query.strip()
    if brand_terms is not None:
        rule.brand_terms = clean_terms(brand_terms)
    if is_active is not None:
        rule.is_active = is_active
    session.flush()
    _changed(session, rule.workspace_id)
    _record(session, clock, E.LISTENING_RULE_SAVED, rule, actor_agent_id, created=False)
    return rule


def do_delete_rule(
    session: Session, clock: Clock, rule: ListeningRule, *, actor_agent_id: int | None = None
) -> None:
    _record(session, clock, E.LISTENING_RULE_DELETED, rule, actor_agent_id, created=False)
    _changed(session, rule.workspace_id)
    session.delete(rule)
    session.flush()


def _record(
    session: Session,
    clock: Clock,
    name: E,
    rule: ListeningRule,
    actor_agent_id: int | None,
    *,
    created: bool,
) -> None:
    record(
        session,
        clock,
        workspace_id=rule.workspace_id,
        name=name,
        actor_kind="agent" if actor_agent_id else "system",
        actor_agent_id=actor_agent_id,
        payload={
            "rule_id": rule.id,
            "name": rule.name,
            "query": rule.query,
            "active": rule.is_active,
            "created": created,
        },
        live=False,
    )


def brand_settings(workspace: Workspace) -> dict[str, list[str]]:
    data = (workspace.settings or {}).get("listening") or {}
    return {
        "brand_terms": [str(t) for t in data.get("brand_terms") or []],
        "brand_handles": [str(t) for t in data.get("brand_handles") or []],
    }


def do_set_brand(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    *,
    brand_terms: Sequence[str] | None = None,
    brand_handles: Sequence[str] | None = None,
    actor_agent_id: int | None = None,
) -> dict[str, list[str]]:
    """The brand's names (for "unaddressed mention") and extra own handles (besides the
    workspace's channel accounts), e.g. a founder's or a marketing account."""
    current = brand_settings(workspace)
    if brand_terms is not None:
        current["brand_terms"] = clean_terms(brand_terms)
    if brand_handles is not None:
        current["brand_handles"] = [h.lstrip("@") for h in clean_terms(brand_handles, "handle")]
    workspace.settings = {**(workspace.settings or {}), "listening": current}
    session.flush()
    _changed(session, workspace.id)
    record(
        session,
        clock,
        workspace_id=workspace.id,
        name=E.BRAND_TERMS_CHANGED,
        actor_kind="agent" if actor_agent_id else "system",
        actor_agent_id=actor_agent_id,
        payload=dict(current),
        live=False,
    )
    return current


# --- hearing posts --------------------------------------------------------------------------


def _unaddressed(brand: BrandInfo, text: str, author: str, addressed: bool) -> bool:
    if addressed or author in brand.own_authors:
        return False
    return brand.names_brand(text) and not brand.has_handle(text)


def do_listen(
    session: Session,
    clock: Clock,
    post: InboundPost,
    *,
    source: str,
    workspace_id: int,
    addressed: bool = False,
) -> dict[int, Heard]:
    """Which workspaces keep ``post`` and why. ``workspace_id`` owns the account it came in on;
    ``addressed``: a reply to the brand or a private message. Counts what it drops."""
    state = RULEBOOK.state(session)
    view = PostView(post.text, post.author_handle, post.lang_hint, addressed or post.is_private)
    author = normalize_handle(post.author_handle)
    grouped: dict[int, list[RuleMatch]] = {}
    for m in state.matcher.match(view):
        if author in state.brand(m.workspace_id).own_authors:
            continue  # the brand's own posts are never mentions of itself
        grouped.setdefault(m.workspace_id, []).append(m)
    day = clock.now().date().isoformat()
    heard: dict[int, Heard] = {}
    if source == "account":
        brand = state.brand(workspace_id)
        if workspace_id not in state.brands:  # a workspace without rules or handles yet
            ws = session.get(Workspace, workspace_id)
            brand = brand_info(workspace_id, brand_settings(ws) if ws else {}, ())
        text = normalize_text(post.text)
        unaddressed = _unaddressed(brand, text, author, view.is_reply_to_brand)
        matches = grouped.get(workspace_id, [])
        heard[workspace_id] = _heard(state, workspace_id, source, matches, unaddressed)
    else:
        for ws_id, matches in grouped.items():
            unaddressed = any(m.unaddressed for m in matches)
            heard[ws_id] = _heard(state, ws_id, source, matches, unaddressed)
        if not heard:
            counters.bump_counter(session, f"{repo.UNMATCHED}.{workspace_id}.{post.channel}", day)
    for h in heard.values():
        for rule_id in h.rule_ids:
            counters.bump_counter(session, f"{repo.MATCHED}.{rule_id}", day)
    return heard


def _heard(
    state: Snapshot, ws_id: int, source: str, matches: list[RuleMatch], unaddressed: bool
) -> Heard:
    names = state.rule_names
    terms: list[str] = []
    for m in matches:
        terms.extend(t for t in m.matched_terms if t not in terms)
    return Heard(
        workspace_id=ws_id,
        source=source,
        rule_ids=tuple(m.rule_id for m in matches),
        rule_names=tuple(names.get(m.rule_id, "") for m in matches),
        terms=tuple(terms),
        unaddressed=unaddressed,
    )


def listening_stats(session: Session, workspace_id: int) -> dict[str, Any]:
    """Posts heard by no rule (per channel) and matches per rule, over all days."""
    unmatched_prefix = f"{repo.UNMATCHED}.{workspace_id}."
    unmatched = {
        name[len(unmatched_prefix) :]: value
        for name, value in repo.counters_like(session, unmatched_prefix).items()
    }
    matched: dict[int, int] = {}
    rule_ids = {r.id for r in repo.rules_of(session, workspace_id)}
    for name, value in repo.counters_like(session, f"{repo.MATCHED}.").items():
        rule_id = int(name.rsplit(".", 1)[1])
        if rule_id in rule_ids:
            matched[rule_id] = value
    return {"unmatched_by_channel": unmatched, "matched_by_rule": matched}
