"""The resolution process (S20): states, refusals, resolution notes, snooze and reopen."""

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from caredesk.conversations.lifecycle import (
    do_change_status,
    do_close,
    search_resolutions,
)
from caredesk.conversations.states import ResolutionNote, check_transition
from caredesk.events import E
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.models import CsatResponse, Event
from caredesk.routing.sweeper import do_sweep_timers
from tests.routing.support import desk, inbound


def _names(session, conversation_id):
    return [
        n
        for n in session.execute(
            select(Event.name).where(Event.conversation_id == conversation_id).order_by(Event.id)
        ).scalars()
    ]


def test_full_resolution_process_in_order():
    steps = ["new", "acknowledged", "gathering_info", "in_progress", "solved", "closed"]
    note = ResolutionNote("router dead", "firmware bug", "rolled back firmware")
    for a, b in itertools.pairwise(steps):
        check_transition(a, b, resolution=note if b == "closed" else None)


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        ("closed", "solved", "cannot go from closed to solved"),
        ("solved", "new", "cannot go back to new"),
        ("new", "new", "already new"),
        ("new", "done", "unknown status 'done'"),
        ("in_progress", "closed", "closing needs a resolution note"),
        ("in_progress", "snoozed", "snoozing needs a time"),
    ],
)
def test_invalid_transitions_are_refused_with_clear_message(current, target, message):
    with pytest.raises((Conflict, ValidationFailed), match=message):
        check_transition(current, target)


def test_resolution_note_needs_all_three_parts():
    with pytest.raises(ValidationFailed, match="missing: cause"):
        check_transition("in_progress", "closed", resolution=ResolutionNote("p", " ", "f"))


def test_close_stores_searchable_resolution_and_sends_csat(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws)
    do_close(
        session,
        clock,
        c,
        agent=d.agents[0],
        problem="Router reboot loop",
        cause="Firmware 2.1 bug",
        fix="Downgrade to 2.0",
    )
    assert c.status == "closed" and c.closed_at == clock.now()
    hits = search_resolutions(session, [d.ws.id], "firmware downgrade")
    assert [h.reference for h in hits] == [c.reference]
    assert search_resolutions(session, [d.ws.id], "firmware 100%") == []
    assert session.execute(
        select(CsatResponse).where(CsatResponse.conversation_id == c.id)
    ).scalar_one()
    assert str(E.CLOSED) in _names(session, c.id) and str(E.CSAT_SENT) in _names(session, c.id)


def test_closing_without_resolution_is_refused_but_noise_may_close(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws)
    with pytest.raises(ValidationFailed, match="resolution note"):
        do_change_status(session, clock, c, "closed", agent=d.agents[0])
    assert c.status != "closed"
    spam = inbound(session, clock, d.ws, author="bot", kind="noise")
    do_change_status(session, clock, spam, "closed", agent=d.agents[0])
    assert spam.status == "closed"


def test_customer_writing_again_reopens_solved_conversation(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws, author="back")
    do_change_status(session, clock, c, "solved", agent=d.agents[0])
    clock.advance(hours=1)
    again = inbound(session, clock, d.ws, author="back", text="it broke again")
    assert again.id == c.id
    assert c.status == "in_progress" and c.solved_at is None
    assert str(E.CONVERSATION_REOPENED) in _names(session, c.id)


def test_snoozed_conversation_wakes_when_its_time_comes(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws)
    do_change_status(session, clock, c, "gathering_info", agent=d.agents[0])
    with pytest.raises(ValidationFailed, match="future"):
        do_change_status(session, clock, c, "snoozed", agent=d.agents[0], snooze_until=clock.now())
    do_change_status(
        session,
        clock,
        c,
        "snoozed",
        agent=d.agents[0],
        snooze_until=clock.now() + timedelta(hours=2),
    )
    assert c.timer_due_at <= clock.now() + timedelta(hours=2)
    clock.advance(hours=1)
    do_sweep_timers(session, clock)
    assert c.status == "snoozed"
    clock.advance(hours=1, seconds=1)
    assert do_sweep_timers(session, clock).woken == 1
    assert c.status == "gathering_info" and c.snoozed_until is None
    woken = session.execute(
        select(Event).where(Event.conversation_id == c.id, Event.name == str(E.WOKEN))
    ).scalar_one()
    assert woken.payload == {"from": "snoozed", "to": "gathering_info", "why": "snooze_ended"}


def test_customer_reply_brings_pending_back_to_work(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws, author="pend")
    do_change_status(session, clock, c, "in_progress", agent=d.agents[0])
    do_change_status(session, clock, c, "pending", agent=d.agents[0])
    clock.advance(minutes=20)
    inbound(session, clock, d.ws, author="pend", text="here is my account number")
    assert c.status == "in_progress"
