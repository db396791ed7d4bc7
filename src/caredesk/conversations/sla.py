"""SLA clocks: which policy applies, due times in business or calendar hours, pauses, and the
near-breach / breach / auto-acknowledgment moments.

A conversation keeps its clocks in ``sla_state`` (JSON) and mirrors two columns the database can
index: ``timer_due_at`` (the next moment the sweeper must look at the row) and ``sla_due_at``
(the earliest unmet due time, to sort a queue by time left). The arithmetic is pure and lives
in ``sla_clocks`` (re-exported here); ``do_*``
functions record the events, guarded by :func:`claim_mark` so each fires exactly once.

A clock is ``{"start", "target_s", "credit_s", "due", "near"}``: the due time is ``start`` plus
``target_s + credit_s`` of schedule time, where ``credit_s`` is the time spent paused (pending,
snoozed) measured on the same schedule — so a pause never eats into the target and a policy
change recomputes due times from the same facts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from caredesk.conversations.marks import claim_marks
from caredesk.conversations.sla_clocks import DONE_STATUSES as DONE_STATUSES
from caredesk.conversations.sla_clocks import PAUSED_STATUSES as PAUSED_STATUSES
from caredesk.conversations.sla_clocks import TARGETS as TARGETS
from caredesk.conversations.sla_clocks import Evaluation as Evaluation
from caredesk.conversations.sla_clocks import Firing as Firing
from caredesk.conversations.sla_clocks import PolicyView as PolicyView
from caredesk.conversations.sla_clocks import SlaFacts as SlaFacts
from caredesk.conversations.sla_clocks import compute_clock, is_met, iso, parse_dt
from caredesk.conversations.sla_clocks import compute_state as compute_state
from caredesk.conversations.sla_clocks import evaluate as evaluate
from caredesk.conversations.sla_clocks import pick_policy as pick_policy
from caredesk.conversations.sla_scope import no_reply_reason, replies_expected, reply_since
from caredesk.events import E, record
from caredesk.kit.business_hours import BusinessHours
from caredesk.kit.clock import Clock
from caredesk.kit.jobs import enqueue_after_commit
from caredesk.models import Conversation, SlaPolicy, Team

# The replies stage owns sending; we only say an acknowledgment is due (see tasks / report).
AUTO_ACK_JOB = "replies.auto_ack"

_CALENDAR = BusinessHours.always_open("UTC")
_hours_cache: dict[str, BusinessHours] = {}


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
    conversation.first_response_due_at = parse_dt((clocks.get("first_response") or {}).get("due"))
    conversation.next_response_due_at = parse_dt((clocks.get("next_response") or {}).get("due"))
    conversation.resolution_due_at = parse_dt((clocks.get("resolution") or {}).get("due"))


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
        start = parse_dt(running.get("start"))
        if start is not None and not is_met("next_response", start, SlaFacts.of(conversation)):
            return  # the customer wrote twice before we answered: the first wait counts
    clock = {"start": iso(at), "target_s": float(target_s), "credit_s": 0.0}
    clocks["next_response"] = compute_clock(
        clock, schedule_of(session, conversation), float(state.get("near_ratio", 0.8))
    )
    state["clocks"] = clocks
    conversation.sla_state = state
    _mirror_due_columns(conversation, clocks)


def pause(conversation: Conversation, now: datetime) -> None:
    state = dict(conversation.sla_state or {})
    state.setdefault("paused_at", iso(now))
    if state["paused_at"] is None:
        state["paused_at"] = iso(now)
    conversation.sla_state = state


def resume(session: Session, conversation: Conversation, now: datetime) -> None:
    """Credit every clock with the paused time (on its own schedule) and move its due times."""
    state = dict(conversation.sla_state or {})
    paused_at = parse_dt(state.pop("paused_at", None))
    if paused_at is None:
        conversation.sla_state = state
        return
    schedule = schedule_of(session, conversation)
    ratio = float(state.get("near_ratio", 0.8))
    clocks: dict[str, Any] = {}
    for target, c in (state.get("clocks") or {}).items():
        start = parse_dt(c.get("start"))
        if start is None:
            continue
        since = max(paused_at, start)
        credit = max(0.0, schedule.business_seconds_between(since, now)) if now > since else 0.0
        clocks[target] = compute_clock(
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
                "due_at": iso(firing.due_at),
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
