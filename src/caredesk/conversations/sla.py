"""SLA clocks: which policy applies, due times in business or calendar hours, pauses, and the
near-breach / breach / auto-acknowledgment moments.

A conversation keeps its clocks in ``sla_state`` (JSON) and mirrors two columns the database can
index: ``timer_due_at`` (the next moment the sweeper must look at the row) and ``sla_due_at``
(the earliest unmet due time, to sort a queue by time left). ``evaluate`` is pure; ``do_*``
functions record the events, guarded by :func:`claim_mark` so each fires exactly once.

A clock is ``{"start", "target_s", "credit_s", "due", "near"}``: the due time is ``start`` plus
``target_s + credit_s`` of schedule time, where ``credit_s`` is the time spent paused (pending,
snoozed) measured on the same schedule — so a pause never eats into the target and a policy
change recomputes due times from the same facts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from caredesk.conversations.marks import claim_marks
from caredesk.conversations.sla_scope import no_reply_reason, replies_expected, reply_since
from caredesk.events import E, record
from caredesk.kit.business_hours import BusinessHours
from caredesk.kit.clock import Clock, ensure_utc
from caredesk.kit.jobs import enqueue_after_commit
from caredesk.models import Conversation, SlaPolicy, Team

TARGETS = ("first_response", "next_response", "resolution")
PAUSED_STATUSES = ("pending", "snoozed")
DONE_STATUSES = ("solved", "closed")
# The replies stage owns sending; we only say an acknowledgment is due (see tasks / report).
AUTO_ACK_JOB = "replies.auto_ack"

_CALENDAR = BusinessHours.always_open("UTC")
_hours_cache: dict[str, BusinessHours] = {}


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


def team_hours(team: Team | None) -> BusinessHours:
    """The team's schedule (cached: building it parses the schedule)."""
    if team is None:
        return _CALENDAR
    key = json.dumps([team.business_hours, team.timezone, team.holidays], sort_keys=True)
    hours = _hours_cache.get(key)
    if hours is None:
        hours = BusinessHours.from_dict(
            team.business_hours, timezone=team.timezone, holidays=team.holidays
        )
        if len(_hours_cache) > 1024:
            _hours_cache.clear()
        _hours_cache[key] = hours
    return hours


def _iso(t: datetime) -> str:
    return ensure_utc(t).isoformat()


def _dt(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return ensure_utc(datetime.fromisoformat(value))


def _compute(clock: dict[str, Any], schedule: BusinessHours, ratio: float) -> dict[str, Any]:
    start = _dt(clock["start"])
    assert start is not None
    target, credit = float(clock["target_s"]), float(clock.get("credit_s", 0.0))
    due = schedule.add_business_time(start, target + credit)
    near = schedule.add_business_time(start, target * ratio + credit)
    return {**clock, "due": _iso(due), "near": _iso(near)}


def _is_met(target: str, start: datetime, f: SlaFacts) -> bool:
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
        start, due, near = _dt(clock.get("start")), _dt(clock.get("due")), _dt(clock.get("near"))
        if start is None or due is None or near is None or _is_met(target, start, facts):
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
    ack_at = _dt(state.get("auto_ack_at"))
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


def refresh_timer(conversation: Conversation, now: datetime) -> Evaluation:
    """Recompute the two indexed columns from the state (no events)."""
    ev = evaluate(conversation.sla_state or {}, SlaFacts.of(conversation), now)
    next_check = ev.next_check
    if conversation.status == "snoozed" and conversation.snoozed_until is not None:
        wake = conversation.snoozed_until
        next_check = wake if next_check is None else min(next_check, wake)
    if ev.firings:
        next_check = now
    conversation.timer_due_at = next_check
    conversation.sla_due_at = ev.sla_due
    return ev


def _mirror_due_columns(conversation: Conversation, clocks: Mapping[str, Any]) -> None:
    conversation.first_response_due_at = _dt((clocks.get("first_response") or {}).get("due"))
    conversation.next_response_due_at = _dt((clocks.get("next_response") or {}).get("due"))
    conversation.resolution_due_at = _dt((clocks.get("resolution") or {}).get("due"))


def schedule_of(session: Session, conversation: Conversation) -> BusinessHours:
    state = conversation.sla_state or {}
    if not state.get("business_hours") or conversation.team_id is None:
        return _CALENDAR
    return team_hours(session.get(Team, conversation.team_id))


def policies_of(session: Session, workspace_id: int) -> list[PolicyView]:
    rows = session.execute(
        select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id).order_by(SlaPolicy.id)
    ).scalars()
    return [PolicyView.of(p) for p in rows]


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
            "start": previous["start"] if previous else _iso(start),
            "target_s": 60.0 * m,
            "credit_s": float(previous.get("credit_s", 0.0)) if previous else 0.0,
        }
        clocks[target] = _compute(clock, schedule, policy.near_breach_ratio)
    auto_ack_at = (
        _iso(start + timedelta(minutes=policy.auto_ack_minutes))
        if policy.auto_ack_minutes
        else None
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


def do_apply_sla(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    *,
    policies: Sequence[PolicyView] | None = None,
    live: bool = True,
) -> PolicyView | None:
    """Attach the matching policy (after routing chose a team, or when priority or triage
    changes). A conversation nobody is expected to answer gets no clocks (see sla_scope);
    stopping running clocks records ``sla.stopped``, already-fired events stay."""
    policy: PolicyView | None = None
    if replies_expected(conversation):
        if policies is None:
            policies = policies_of(session, conversation.workspace_id)
        policy = pick_policy(
            policies,
            team_id=conversation.team_id,
            priority=conversation.priority,
            channel=conversation.channel,
        )
    team = session.get(Team, conversation.team_id) if conversation.team_id else None
    schedule = team_hours(team) if policy is not None and policy.business_hours else _CALENDAR
    old = conversation.sla_state or {}
    state = compute_state(
        old,
        policy,
        SlaFacts.of(conversation),
        schedule,
        opened_at=conversation.created_at,
        start=reply_since(old),
    )
    reason = no_reply_reason(conversation)
    state.pop("no_reply", None)
    if reason is not None:
        state["no_reply"] = reason
    changed = state.get("clocks") != old.get("clocks") or state.get("policy_id") != old.get(
        "policy_id"
    )
    conversation.sla_state = state
    conversation.sla_policy_id = policy.id if policy else None
    _mirror_due_columns(conversation, state["clocks"])
    refresh_timer(conversation, clock.now())
    if changed and policy is not None:
        record(
            session,
            clock,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            name=E.SLA_APPLIED,
            payload={
                "policy_id": policy.id,
                "business_hours": policy.business_hours,
                "due": {t: c["due"] for t, c in state["clocks"].items()},
            },
            live=live,
        )
    elif reason is not None and old.get("clocks"):
        record(
            session,
            clock,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            name=E.SLA_STOPPED,
            payload={"policy_id": old.get("policy_id"), "reason": reason},
            live=live,
        )
    return policy


def start_next_response_clock(session: Session, conversation: Conversation, at: datetime) -> None:
    """The customer wrote after our response: the next-response clock starts (once per turn)."""
    state = dict(conversation.sla_state or {})
    target_s = state.get("next_response_s")
    if not target_s or state.get("policy_id") is None or conversation.first_response_at is None:
        return
    clocks = dict(state.get("clocks") or {})
    running = clocks.get("next_response")
    if running is not None:
        start = _dt(running.get("start"))
        if start is not None and not _is_met("next_response", start, SlaFacts.of(conversation)):
            return  # the customer wrote twice before we answered: the first wait counts
    clock = {"start": _iso(at), "target_s": float(target_s), "credit_s": 0.0}
    clocks["next_response"] = _compute(
        clock, schedule_of(session, conversation), float(state.get("near_ratio", 0.8))
    )
    state["clocks"] = clocks
    conversation.sla_state = state
    _mirror_due_columns(conversation, clocks)


def pause(conversation: Conversation, now: datetime) -> None:
    state = dict(conversation.sla_state or {})
    state.setdefault("paused_at", _iso(now))
    if state["paused_at"] is None:
        state["paused_at"] = _iso(now)
    conversation.sla_state = state


def resume(session: Session, conversation: Conversation, now: datetime) -> None:
    """Credit every clock with the paused time (on its own schedule) and move its due times."""
    state = dict(conversation.sla_state or {})
    paused_at = _dt(state.pop("paused_at", None))
    if paused_at is None:
        conversation.sla_state = state
        return
    schedule = schedule_of(session, conversation)
    ratio = float(state.get("near_ratio", 0.8))
    clocks: dict[str, Any] = {}
    for target, c in (state.get("clocks") or {}).items():
        start = _dt(c.get("start"))
        if start is None:
            continue
        since = max(paused_at, start)
        credit = max(0.0, schedule.business_seconds_between(since, now)) if now > since else 0.0
        clocks[target] = _compute(
            {**c, "credit_s": float(c.get("credit_s", 0.0)) + credit}, schedule, ratio
        )
    state["clocks"] = clocks
    conversation.sla_state = state
    _mirror_due_columns(conversation, clocks)


_EVENT_OF = {"near": E.SLA_NEAR_BREACH, "breach": E.SLA_BREACHED}


def do_fire_due(
    session: Session, clock: Clock, conversation: Conversation, ev: Evaluation
) -> list[Firing]:
    """Record each due firing once (the mark insert decides) and refresh the timer."""
    now = clock.now()
    fired_now: list[Firing] = []
    keys = list((conversation.sla_state or {}).get("fired", []))
    # One insert claims every firing of this row; a key another sweeper already holds is
    # remembered as fired but stays quiet.
    won = claim_marks(session, conversation.id, [f"sla:{f.key}" for f in ev.firings], now)
    for firing in ev.firings:
        keys.append(firing.key)
        if f"sla:{firing.key}"[:160] not in won:
            continue
        fired_now.append(firing)
        common: dict[str, Any] = {
            "workspace_id": conversation.workspace_id,
            "conversation_id": conversation.id,
            "occurred_at": firing.at,
        }
        if firing.target == "auto_ack":
            record(
                session,
                clock,
                name=E.AUTO_ACK_REQUESTED,
                payload={"channel": conversation.channel, "team_id": conversation.team_id},
                **common,
            )
            enqueue_after_commit(session, AUTO_ACK_JOB, conversation.id)
            continue
        record(
            session,
            clock,
            name=_EVENT_OF[firing.kind],
            payload={
                "target": firing.target,
                "due_at": _iso(firing.due_at),
                "team_id": conversation.team_id,
                "assignee_id": conversation.assignee_id,
                "priority": conversation.priority,
                "policy_id": conversation.sla_policy_id,
            },
            **common,
        )
    conversation.sla_state = {**(conversation.sla_state or {}), "fired": sorted(set(keys))}
    refresh_timer(conversation, now)
    return fired_now


def time_left(conversation: Conversation, now: datetime) -> float | None:
    """Seconds until the earliest unmet due time (negative when breached)."""
    if conversation.sla_due_at is None:
        return None
    return (conversation.sla_due_at - now).total_seconds()


_FACT_COLUMNS = ("first_response_at", "last_outbound_at", "acknowledged_at", "status")


@event.listens_for(Session, "before_flush")
def _refresh_after_fact_change(session: Session, _ctx: object, _instances: object) -> None:
    """A response written by another stage (replies) changes the facts the clocks read, but
    not ``sla_due_at``/``timer_due_at``; re-derive them at flush so a queue sorted by time left
    never shows an answered conversation as about to breach. ``updated_at`` is the writer's
    clock reading."""
    for obj in session.dirty:
        if not isinstance(obj, Conversation) or not (obj.sla_state or {}).get("clocks"):
            continue
        attrs = inspect(obj).attrs
        if any(attrs[name].history.has_changes() for name in _FACT_COLUMNS):
            refresh_timer(obj, obj.updated_at)
