"""SLA clocks: policy choice, due times, pauses, business hours, events exactly once."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from caredesk.conversations import sla
from caredesk.conversations.lifecycle import do_change_status
from caredesk.events import E
from caredesk.kit.business_hours import BusinessHours
from caredesk.kit.errors import ValidationFailed
from caredesk.models import Event
from caredesk.replies.service import do_send_reply
from caredesk.routing import repository as routing_repo
from caredesk.routing.admin import do_save_sla_policy, do_update_team
from caredesk.routing.sweeper import do_sweep_timers
from tests.routing.support import count_events, desk, inbound, save_team_policy


def test_most_specific_policy_wins():
    P = sla.PolicyView
    policies = [
        P(1, None, None, None, 600),
        P(2, 7, None, None, 120),
        P(3, 7, "urgent", None, 15),
        P(4, 7, "urgent", "x", 5),
        P(5, None, "urgent", None, 30),
    ]
    pick = sla.pick_policy
    assert pick(policies, team_id=7, priority="urgent", channel="x").id == 4
    assert pick(policies, team_id=7, priority="urgent", channel="email").id == 3
    assert pick(policies, team_id=7, priority="low", channel="x").id == 2
    assert pick(policies, team_id=8, priority="urgent", channel="x").id == 5
    assert pick(policies, team_id=8, priority="low", channel="x").id == 1


def test_evaluate_is_pure_and_reports_near_then_breach_once():
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    state = sla.compute_state(
        {},
        sla.PolicyView(1, None, None, None, 60),
        sla.SlaFacts("new", start, None, None, None),
        BusinessHours.always_open(),
        opened_at=start,
    )
    facts = sla.SlaFacts("new", start, None, None, None)
    assert sla.evaluate(state, facts, start + timedelta(minutes=47)).firings == ()
    near = sla.evaluate(state, facts, start + timedelta(minutes=48)).firings
    assert [(x.target, x.kind) for x in near] == [("first_response", "near")]
    both = sla.evaluate(state, facts, start + timedelta(minutes=61)).firings
    assert [x.kind for x in both] == ["near", "breach"]
    fired = {**state, "fired": [x.key for x in both]}
    assert sla.evaluate(fired, facts, start + timedelta(hours=5)).firings == ()
    answered = sla.SlaFacts("acknowledged", start, start, start, start)
    assert sla.evaluate(state, answered, start + timedelta(hours=5)).firings == ()


def test_business_hours_due_time_skips_the_night(session, clock):
    d = desk(session, clock, first_response=120)
    do_update_team(
        session,
        clock,
        d.team,
        agent=None,
        changes={
            "business_hours": {
                "weekly": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
            }
        },
    )
    save_team_policy(session, clock, d, first_response=120, business_hours=True)
    clock.set(datetime(2026, 11, 20, 16, 0, tzinfo=UTC))  # Friday 16:00, one hour left
    c = inbound(session, clock, d.ws)
    # 1 h on Friday, the other hour on Monday morning.
    assert c.first_response_due_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert c.sla_due_at == c.first_response_due_at


def test_breach_and_near_breach_fire_exactly_once_across_sweeps(session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(session, clock, d.ws)
    assert c.first_response_due_at == clock.now() + timedelta(minutes=60)
    clock.advance(minutes=49)
    assert do_sweep_timers(session, clock).near == 1
    assert do_sweep_timers(session, clock).near == 0
    clock.advance(minutes=12)
    r = do_sweep_timers(session, clock)
    assert r.breached == 1
    for _ in range(3):
        do_sweep_timers(session, clock)
    assert count_events(session, E.SLA_NEAR_BREACH, c.id) == 1
    assert count_events(session, E.SLA_BREACHED, c.id) == 1
    ev = session.execute(select(Event).where(Event.name == str(E.SLA_BREACHED))).scalars()
    breach = next(e for e in ev if e.conversation_id == c.id)
    assert breach.payload["target"] == "first_response"
    assert breach.occurred_at == c.first_response_due_at


def test_answered_in_time_never_breaches(session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(session, clock, d.ws)
    clock.advance(minutes=10)
    do_send_reply(session, clock, c, d.agents[0], "On it!")
    clock.advance(hours=20)
    do_sweep_timers(session, clock)
    assert count_events(session, E.SLA_BREACHED, c.id) == 0


def test_pending_pauses_the_clock_and_moves_due_time(session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(session, clock, d.ws)
    due = c.first_response_due_at
    clock.advance(minutes=30)
    do_change_status(session, clock, c, "pending", agent=d.agents[0])
    clock.advance(hours=5)
    do_sweep_timers(session, clock)
    assert count_events(session, E.SLA_BREACHED, c.id) == 0
    do_change_status(session, clock, c, "in_progress", agent=d.agents[0])
    assert c.first_response_due_at == due + timedelta(hours=5)
    clock.advance(minutes=31)
    do_sweep_timers(session, clock)
    assert count_events(session, E.SLA_BREACHED, c.id) == 1


def test_next_response_clock_starts_when_customer_writes_after_our_answer(session, clock):
    d = desk(session, clock, first_response=60, next_response=30)
    c = inbound(session, clock, d.ws, author="nx")
    do_send_reply(session, clock, c, d.agents[0], "Can you restart it?")
    clock.advance(minutes=5)
    inbound(session, clock, d.ws, author="nx", text="did that, still dead")
    assert c.next_response_due_at == clock.now() + timedelta(minutes=30)
    clock.advance(minutes=31)
    do_sweep_timers(session, clock)
    breach = session.execute(
        select(Event).where(Event.conversation_id == c.id, Event.name == str(E.SLA_BREACHED))
    ).scalar_one()
    assert breach.payload["target"] == "next_response"


def test_queue_sorts_by_time_left(session, clock):
    d = desk(session, clock, first_response=60)
    save_team_policy(session, clock, d, priority="urgent", first_response=10)
    slow = inbound(session, clock, d.ws, author="s1")
    clock.advance(minutes=1)
    fast = inbound(session, clock, d.ws, author="s2", priority="urgent")
    rows = routing_repo.queue(session, [d.ws.id], sort="time_left")
    assert [r.id for r in rows][:2] == [fast.id, slow.id]
    assert sla.time_left(fast, clock.now()) == pytest.approx(600)


def test_breach_of_assigned_conversation_escalates(session, clock):
    d = desk(session, clock, first_response=60)
    d.team.escalation_policy = "reassign"
    c = inbound(session, clock, d.ws)
    owner = c.assignee_id
    clock.advance(minutes=61)
    r = do_sweep_timers(session, clock)
    assert r.escalated == 1
    assert c.assignee_id not in (None, owner)
    assert count_events(session, E.ESCALATED, c.id) == 1


def test_bad_policy_values_are_refused(session, clock):
    d = desk(session, clock, first_response=None)
    with pytest.raises(ValidationFailed, match="first response"):
        do_save_sla_policy(
            session,
            clock,
            d.ws.id,
            agent=None,
            team_id=None,
            priority=None,
            first_response_minutes=0,
        )
    with pytest.raises(ValidationFailed, match="priority"):
        do_save_sla_policy(
            session,
            clock,
            d.ws.id,
            agent=None,
            team_id=None,
            priority="meh",
            first_response_minutes=5,
        )


def test_answering_moves_conversation_down_the_time_left_queue(session, clock):
    d = desk(session, clock, first_response=60, next_response=None, resolution=None)
    answered = inbound(session, clock, d.ws, author="t1")
    clock.advance(minutes=1)
    waiting = inbound(session, clock, d.ws, author="t2")
    assert [r.id for r in routing_repo.queue(session, [d.ws.id])][:2] == [answered.id, waiting.id]
    do_send_reply(session, clock, answered, d.agents[0], "Hello! Checking now.")
    session.flush()
    assert answered.sla_due_at is None
    assert [r.id for r in routing_repo.queue(session, [d.ws.id])][:2] == [waiting.id, answered.id]
