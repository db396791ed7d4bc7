"""Pure team choice: which team's queue a conversation belongs in, with reasons.

Order: routing rules (first active match by position) -> kind to team kind -> language ->
follow the sun (a closed team hands over to an open team of the same kind that covers the
language; otherwise the conversation waits for the next opening).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caredesk.kit.business_hours import BusinessHours

KIND_TO_TEAM_KIND = {"care": "care", "sales": "sales", "engagement": "engagement", "noise": "care"}
RULE_KEYS = ("channel", "language", "keyword", "priority", "vip")


@dataclass(frozen=True)
class TeamView:
    id: int
    name: str
    kind: str
    languages: tuple[str, ...] = ()
    deleted: bool = False
    # None: open all the time.
    hours: BusinessHours | None = None
    strategy: str = "least_loaded"
    escalation_policy: str = "flag_supervisor"

    def covers(self, language: str | None) -> bool:
        return not self.languages or language is None or language in self.languages

    def is_open(self, now: datetime) -> bool:
        return self.hours is None or self.hours.is_open(now)


@dataclass(frozen=True)
class RuleView:
    id: int
    name: str
    position: int
    condition: Mapping[str, Any]
    target_team_id: int
    active: bool = True


@dataclass(frozen=True)
class RouteInput:
    kind: str
    language: str | None = None
    channel: str | None = None
    priority: str = "normal"
    text: str = ""
    vip: bool = False


@dataclass(frozen=True)
class TeamDecision:
    team_id: int | None
    reasons: tuple[str, ...]
    # Set when the chosen team is closed and nobody else could take it: when it opens.
    waits_until: datetime | None = None
    handed_over_from: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def rule_matches(condition: Mapping[str, Any], c: RouteInput) -> bool:
    """Every key present must match; list values mean "any of"."""
    if not condition:
        return False
    for key, raw in condition.items():
        values = _as_list(raw)
        if key == "channel" and c.channel not in values:
            return False
        if key == "language" and c.language not in values:
            return False
        if key == "priority" and c.priority not in values:
            return False
        if key == "vip" and bool(raw) != c.vip:
            return False
        if key == "keyword":
            text = (c.text or "").casefold()
            if not any(str(k).casefold() in text for k in values if str(k).strip()):
                return False
    return True


def validate_condition(condition: Mapping[str, Any]) -> list[str]:
    """Problems with a rule condition (empty list: fine)."""
    problems = []
    if not condition:
        problems.append("a rule needs at least one condition")
    for key, value in condition.items():
        if key not in RULE_KEYS:
            problems.append(f"unknown condition {key!r}; use {', '.join(RULE_KEYS)}")
        elif key == "vip" and not isinstance(value, bool):
            problems.append("vip must be true or false")
        elif key != "vip":
            items = _as_list(value)
            if not items or not all(isinstance(v, str) and v.strip() for v in items):
                problems.append(f"{key} must be a non-empty text or list of texts")
    return problems


def choose_team(kind: str, language: str | None, teams: Sequence[TeamView]) -> TeamDecision:
    """Kind -> team kind, preferring a team that covers the language."""
    live = [t for t in teams if not t.deleted]
    if not live:
        return TeamDecision(None, ("no team exists in this workspace",))
    wanted = KIND_TO_TEAM_KIND.get(kind, "care")
    same_kind = [t for t in live if t.kind == wanted]
    if not same_kind and wanted == "engagement":
        same_kind = [t for t in live if t.kind == "sales"]
        wanted = "sales"
    if not same_kind:
        same_kind = [t for t in live if t.kind == "care"] or live
    if language:
        speaking = [t for t in same_kind if t.covers(language)]
        if speaking:
            team = speaking[0]
            return TeamDecision(team.id, (f"{kind} goes to {wanted} team {team.name}",))
    team = same_kind[0]
    return TeamDecision(team.id, (f"{kind} goes to {team.kind} team {team.name}",))


def route(
    c: RouteInput,
    teams: Sequence[TeamView],
    rules: Sequence[RuleView],
    now: datetime,
) -> TeamDecision:
    """The full decision: rules, kind, language, follow the sun."""
    by_id = {t.id: t for t in teams}
    reasons: list[str] = []
    chosen: TeamView | None = None
    for rule in sorted(rules, key=lambda r: (r.position, r.id)):
        if not rule.active or not rule_matches(rule.condition, c):
            continue
        target = by_id.get(rule.target_team_id)
        if target is None or target.deleted:
            reasons.append(f"rule {rule.name} matched but its team is deleted; skipped")
            continue
        chosen = target
        reasons.append(f"rule {rule.name} sends it to team {target.name}")
        break
    if chosen is None:
        base = choose_team(c.kind, c.language, teams)
        if base.team_id is None:
            return TeamDecision(None, (*reasons, *base.reasons))
        chosen = by_id[base.team_id]
        reasons.extend(base.reasons)
    if chosen.is_open(now):
        return TeamDecision(chosen.id, tuple(reasons))
    assert chosen.hours is not None
    # Follow the sun: the same kind of team, elsewhere, open now and speaking the language.
    for other in teams:
        if (
            other.id != chosen.id
            and not other.deleted
            and other.kind == chosen.kind
            and other.covers(c.language)
            and other.is_open(now)
        ):
            reasons.append(
                f"team {chosen.name} is closed; follow the sun to team {other.name}, which is "
                f"open" + (f" and covers {c.language}" if c.language else "")
            )
            return TeamDecision(other.id, tuple(reasons), handed_over_from=chosen.id)
    opens = chosen.hours.next_opening(now)
    reasons.append(
        f"team {chosen.name} is closed and no open team covers it; waits in its queue until "
        f"{opens.isoformat()}"
    )
    return TeamDecision(chosen.id, tuple(reasons), waits_until=opens)
