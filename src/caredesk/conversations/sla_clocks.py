"""SLA clock arithmetic, without the database: which policy matches, the clocks a policy
sets, and what is due at a moment (see ``sla`` for how a conversation keeps its clocks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from caredesk.kit.business_hours import BusinessHours
from caredesk.kit.clock import ensure_utc
from caredesk.models import Conversation, SlaPolicy

TARGETS = ("first_response", "next_response", "resolution")
PAUSED_STATUSES = ("pending", "snoozed")
DONE_STATUSES = ("solved", "closed")


@dataclass(frozen=True)
class PolicyView:
    id: int
    team_id: int | None
    priority: str | None
    channel: str | None
    first_response_minutes: int
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    business_hours: bool = False
    near_breach_ratio: float = 0.8
    auto_ack_minutes: int | None = None

    @classmethod
    def of(cls, p: SlaPolicy) -> PolicyView:
        return cls(
            p.id,
            p.team_id,
            p.priority,
            p.channel,
            p.first_response_minutes,
            p.next_response_minutes,
            p.resolution_minutes,
            p.business_hours,
            p.near_breach_ratio,
            p.auto_ack_minutes,
        )


@dataclass(frozen=True)
class SlaFacts:
    status: str
    first_inbound_at: datetime | None
    first_response_at: datetime | None
    acknowledged_at: datetime | None
    last_outbound_at: datetime | None

    @classmethod
    def of(cls, c: Conversation) -> SlaFacts:
        return cls(
            c.status, c.first_inbound_at, c.first_response_at, c.acknowledged_at, c.last_outbound_at
        )


@dataclass(frozen=True)
class Firing:
    target: str  # first_response | next_response | resolution | auto_ack
    kind: str  # near | breach | due
    key: str
    at: datetime  # the moment it became due
    due_at: datetime


@dataclass(frozen=True)
class Evaluation:
    firings: tuple[Firing, ...]
    next_check: datetime | None
    sla_due: datetime | None


def pick_policy(
    policies: Sequence[PolicyView], *, team_id: int | None, priority: str, channel: str
) -> PolicyView | None:
    """The most specific matching policy: team beats priority beats channel; a null field is
    a wildcard. Ties go to the oldest policy so the choice is stable."""
    best: tuple[int, int] | None = None
    chosen: PolicyView | None = None
    for p in policies:
        if p.team_id is not None and p.team_id != team_id:
            continue
        if p.priority is not None and p.priority != priority:
            continue
        if p.channel is not None and p.channel != channel:
            continue
        score = (
            4 * (p.team_id is not None) + 2 * (p.priority is not None) + (p.channel is not None),
            -p.id,
        )
        if best is None or score > best:
            best, chosen = score, p
    return chosen


def iso(t: datetime) -> str:
    return ensure_utc(t).isoformat()


def parse_dt(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return ensure_utc(datetime.fromisoformat(value))


def compute_clock(clock: dict[str, Any], schedule: BusinessHours, ratio: float) -> dict[str, Any]:
    start = parse_dt(clock["start"])
    assert start is not None
    target, credit = float(clock["target_s"]), float(clock.get("credit_s", 0.0))
    due = schedule.add_business_time(start, target + credit)
    near = schedule.add_business_time(start, target * ratio + credit)
    return {**clock, "due": iso(due), "near": iso(near)}


def is_met(target: str, start: datetime, f: SlaFacts) -> bool:
    if target == "first_response":
        return f.first_response_at is not None
    if target == "next_response":
        return f.last_outbound_at is not None and f.last_outbound_at >= start
    return f.status in DONE_STATUSES


def evaluate(state: Mapping[str, Any], facts: SlaFacts, now: datetime) -> Evaluation:
    """What is due at ``now`` and not fired yet, when to look again, and the earliest due time."""
    fired = set(state.get("fired", ()))
    paused = facts.status in PAUSED_STATUSES
    firings: list[Firing] = []
    next_check: datetime | None = None
    sla_due: datetime | None = None
    for target, clock in (state.get("clocks") or {}).items():
        start, due, near = (
            parse_dt(clock.get("start")),
            parse_dt(clock.get("due")),
            parse_dt(clock.get("near")),
        )
        if start is None or due is None or near is None or is_met(target, start, facts):
            continue
        sla_due = due if sla_due is None else min(sla_due, due)
        if paused:
            continue
        for kind, at in (("near", near), ("breach", due)):
            key = f"{target}:{kind}:{clock['start']}"
            if key in fired:
                continue
            if at <= now:
                firings.append(Firing(target, kind, key, at, due))
            else:
                next_check = at if next_check is None else min(next_check, at)
    ack_at = parse_dt(state.get("auto_ack_at"))
    if (
        ack_at is not None
        and not paused
        and facts.acknowledged_at is None
        and facts.first_response_at is None
        and facts.status not in DONE_STATUSES
    ):
        key = f"auto_ack:due:{state['auto_ack_at']}"
        if key not in fired:
            if ack_at <= now:
                firings.append(Firing("auto_ack", "due", key, ack_at, ack_at))
            else:
                next_check = ack_at if next_check is None else min(next_check, ack_at)
    firings.sort(key=lambda fi: fi.at)
    return Evaluation(tuple(firings), next_check, sla_due)


def compute_state(
    old: Mapping[str, Any],
    policy: PolicyView | None,
    facts: SlaFacts,
    schedule: BusinessHours,
    *,
    opened_at: datetime,
    start: datetime | None = None,
) -> dict[str, Any]:
    """Clocks for ``policy``, keeping each running clock's start, pause credit and fired marks.
    A new clock starts at ``start`` (the first message needing a reply), else the first
    inbound message, else the opening."""
    old_clocks: Mapping[str, Any] = old.get("clocks") or {}
    base = {k: v for k, v in old.items() if k not in ("clocks", "auto_ack_at")}
    if policy is None:
        return {**base, "policy_id": None, "clocks": {}, "auto_ack_at": None}
    start = start or facts.first_inbound_at or opened_at
    minutes = {
        "first_response": policy.first_response_minutes,
        "next_response": policy.next_response_minutes,
        "resolution": policy.resolution_minutes,
    }
    clocks: dict[str, Any] = {}
    for target in TARGETS:
        m = minutes[target]
        if not m:
            continue
        previous = old_clocks.get(target)
        if target == "next_response" and previous is None:
            continue  # starts when the customer writes after our response
        clock = {
            "start": previous["start"] if previous else iso(start),
            "target_s": 60.0 * m,
            "credit_s": float(previous.get("credit_s", 0.0)) if previous else 0.0,
        }
        clocks[target] = compute_clock(clock, schedule, policy.near_breach_ratio)
    auto_ack_at = (
        iso(start + timedelta(minutes=policy.auto_ack_minutes)) if policy.auto_ack_minutes else None
    )
    return {
        **base,
        "policy_id": policy.id,
        "business_hours": policy.business_hours,
        "near_ratio": policy.near_breach_ratio,
        "next_response_s": 60.0 * policy.next_response_minutes
        if policy.next_response_minutes
        else None,
        "clocks": clocks,
        "auto_ack_at": auto_ack_at,
    }
