"""An agent's triage correction reaches the SLA: noise -> care starts the clocks (from the first
message, which the correction relabels) and finds an owner; care -> noise stops them, keeping
the events already fired; reports count breaches from events either way."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from caredesk.conversations.service import TriageView
from caredesk.conversations.sla_scope import sla_status
from caredesk.events import E
from caredesk.httpkit.session import COOKIE, _serializer
from caredesk.models import Event
from caredesk.routing.retriage import do_correct_triage
from caredesk.routing.sweeper import do_sweep_timers
from tests.analytics.support import report
from tests.apptest import client_for
from tests.routing.support import count_events, desk, inbound, save_team_policy

NOISE = TriageView(language="en", kind="noise", intent="other", needs_reply=False)
CARE = TriageView(language="en", kind="care", intent="delivery", needs_reply=True)


def test_correcting_noise_to_care_starts_clocks_from_first_message_and_assigns(session, clock):
    d = desk(session, clock, first_response=60, auto_ack=5)
    posted = clock.now()
    c = inbound(session, clock, d.ws, "my parcel never arrived", author="misread", triage=NOISE)
    assert c.sla_due_at is None and c.assignee_id is None
    clock.advance(minutes=10)
    changed = do_correct_triage(session, clock, c, d.agents[0], {"kind": "care"})
    assert changed == ["kind", "intent"] or changed == ["kind"]
    assert c.needs_reply is True
    assert c.first_response_due_at == posted + timedelta(minutes=60)
    assert sla_status(c) == ("running", None)
    assert c.assignee_id in {a.id for a in d.agents}
    assert count_events(session, E.SLA_APPLIED, c.id) == 1
    # The auto-acknowledgment was due at 5 minutes: it goes out on the next sweep, once.
    assert do_sweep_timers(session, clock).auto_ack == 1
    clock.advance(minutes=51)
    assert do_sweep_timers(session, clock).breached == 1


def test_correcting_care_to_noise_stops_clocks_and_keeps_fired_events(session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(
        session, clock, d.ws, "buy cheap watches at x.example", author="spammer", triage=CARE
    )
    clock.advance(minutes=50)
    assert do_sweep_timers(session, clock).near == 1
    do_correct_triage(session, clock, c, d.agents[0], {"kind": "noise"})
    assert c.needs_reply is False
    assert (c.sla_due_at, c.timer_due_at, c.first_response_due_at) == (None, None, None)
    assert sla_status(c) == ("no_reply_needed", "no reply needed: noise")
    stopped = session.execute(
        select(Event).where(Event.conversation_id == c.id, Event.name == str(E.SLA_STOPPED))
    ).scalar_one()
    assert stopped.payload["reason"] == "no reply needed: noise"
    clock.advance(days=3)
    assert do_sweep_timers(session, clock).breached == 0
    assert count_events(session, E.SLA_BREACHED, c.id) == 0
    assert count_events(session, E.SLA_NEAR_BREACH, c.id) == 1  # history stays


def test_correcting_back_to_care_does_not_fire_the_same_breach_twice(session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(session, clock, d.ws, "help, card charged twice", author="flipflop", triage=CARE)
    clock.advance(minutes=61)
    assert do_sweep_timers(session, clock).breached == 1
    agent = d.agents[0]
    due = c.first_response_due_at
    do_correct_triage(session, clock, c, agent, {"kind": "noise"})
    assert c.sla_due_at is None
    do_correct_triage(session, clock, c, agent, {"kind": "care"})
    assert c.first_response_due_at == due  # same clock, same start
    clock.advance(minutes=5)
    do_sweep_timers(session, clock)
    assert count_events(session, E.SLA_BREACHED, c.id) == 1


def test_priority_correction_repicks_the_policy(session, clock):
    d = desk(session, clock, first_response=60)
    save_team_policy(session, clock, d, priority="urgent", first_response=15)
    posted = clock.now()
    c = inbound(session, clock, d.ws, "account hacked", author="urgent1", triage=CARE)
    assert c.first_response_due_at == posted + timedelta(minutes=60)
    do_correct_triage(session, clock, c, d.agents[0], {"priority": "urgent"})
    assert c.first_response_due_at == posted + timedelta(minutes=15)


def test_correcting_imported_history_starts_no_clocks(session, clock):
    d = desk(session, clock, first_response=60)
    old = clock.now() - timedelta(days=30)
    c = inbound(session, clock, d.ws, "old spam", at=old, triage=NOISE, imported=True)
    do_correct_triage(session, clock, c, d.agents[0], {"kind": "care"})
    assert c.sla_due_at is None
    assert do_sweep_timers(session, clock).breached == 0


def test_report_counts_only_breaches_recorded_as_events(session, clock):
    d = desk(session, clock, first_response=60, next_response=None, resolution=None)
    d.ws.timezone = "UTC"
    noise = inbound(session, clock, d.ws, "follow me for followers", author="n1", triage=NOISE)
    care = inbound(session, clock, d.ws, "my order is late", author="c1", triage=CARE)
    corrected = inbound(
        session, clock, d.ws, "win an iphone at scam.example", author="c2", triage=CARE
    )
    clock.advance(minutes=30)
    do_correct_triage(session, clock, corrected, d.agents[0], {"kind": "noise"})
    clock.advance(days=5)
    do_sweep_timers(session, clock)
    r = report(session, clock, workspace=str(d.ws.id))
    first = r["sla"]["first_response"]
    assert first["breached_conversation_ids"] == [care.id]
    assert first["breached"] == 1
    # Only the care conversation needed a reply: noise (and the post corrected to noise) is
    # out of scope, so the met rate is not diluted by posts nobody had to answer.
    assert first["in_scope"] == 1
    assert noise.id not in first["breached_conversation_ids"]


def test_api_shows_why_no_sla_runs(connection, sessions, session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(session, clock, d.ws, "free crypto, click here", author="api1", triage=CARE)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        client.cookies.set(
            COOKIE, _serializer("test-secret-key-123").dumps({"a": d.agents[0].id, "c": "csrf"})
        )
        before = client.get(f"/api/v1/conversations/{c.id}").json()["conversation"]
        res = client.post(f"/api/v1/conversations/{c.id}/triage", json={"kind": "noise"})
        assert res.status_code == 200, res.text
        assert res.json()["needs_reply"] is False
        after = client.get(f"/api/v1/conversations/{c.id}").json()["conversation"]
        queue = client.get("/api/v1/queue", params={"sort": "recent"}).json()
    assert before["sla_status"] == "running" and before["sla_due_at"] is not None
    assert after["sla_status"] == "no_reply_needed"
    assert after["sla_reason"] == "no reply needed: noise"
    assert after["sla_due_at"] is None and after["needs_reply"] is False
    [item] = [q for q in queue if q["id"] == c.id]
    assert item["sla_status"] == "no_reply_needed" and item["time_left_s"] is None
