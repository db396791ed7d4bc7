"""Follow-ups (S18), CSAT (S25) and abandonment (S24)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from caredesk.conversations.abandonment import STOPPED, UNANSWERED, do_mark_abandoned
from caredesk.conversations.csat import csat_question, do_answer_csat, do_send_csat, invitation
from caredesk.conversations.followups import (
    do_complete_follow_up,
    do_mark_missed_follow_ups,
    do_schedule_follow_up,
    follow_ups_due,
)
from caredesk.events import E
from caredesk.kit.errors import Conflict, NotFound, ValidationFailed
from caredesk.models import Customer, Event
from caredesk.replies.service import do_send_reply
from tests.routing.support import desk, inbound


def _events(session, name):
    return list(session.execute(select(Event).where(Event.name == str(name))).scalars())


def test_follow_up_becomes_due_then_missed_once_then_done_late(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws)
    me = d.agents[0]
    fu = do_schedule_follow_up(
        session,
        clock,
        c,
        me,
        kind="call",
        due_at=clock.now() + timedelta(hours=1),
        note="call back",
    )
    assert follow_ups_due(session, me.id, clock.now()) == []
    clock.advance(hours=1)
    assert follow_ups_due(session, me.id, clock.now()) == [fu]
    assert do_mark_missed_follow_ups(session, clock) == 0  # grace period: not missed yet
    clock.advance(hours=1, seconds=1)
    assert do_mark_missed_follow_ups(session, clock) == 1
    assert do_mark_missed_follow_ups(session, clock) == 0
    session.refresh(fu)
    assert fu.status == "missed"
    assert follow_ups_due(session, me.id, clock.now()) == [fu]  # shown as overdue
    do_complete_follow_up(session, clock, fu, me)
    assert follow_ups_due(session, me.id, clock.now()) == []
    assert _events(session, E.FOLLOW_UP_DONE)[-1].payload["late"] is True
    assert len(_events(session, E.FOLLOW_UP_MISSED)) == 1
    with pytest.raises(Conflict, match="already done"):
        do_complete_follow_up(session, clock, fu, me)


def test_follow_up_in_the_past_or_of_unknown_kind_is_refused(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws)
    with pytest.raises(ValidationFailed, match="future"):
        do_schedule_follow_up(session, clock, c, d.agents[0], kind="call", due_at=clock.now())
    with pytest.raises(ValidationFailed, match="kind must be"):
        do_schedule_follow_up(
            session, clock, c, d.agents[0], kind="pigeon", due_at=clock.now() + timedelta(hours=1)
        )


def test_csat_question_in_customers_language_answer_once(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws, language="da")
    survey = do_send_csat(session, clock, c)
    assert do_send_csat(session, clock, c).id == survey.id  # one open survey per conversation
    q = csat_question(session, survey.token)
    assert q.language == "da" and "tilfreds" in q.text.question
    session.get(Customer, c.customer_id).language = "ur"
    assert csat_question(session, survey.token).rtl is True
    with pytest.raises(ValidationFailed, match="1 to 5"):
        do_answer_csat(session, clock, survey.token, 6)
    do_answer_csat(session, clock, survey.token, 4, "quick <b>fix</b>")
    assert survey.score == 4 and survey.comment == "quick <b>fix</b>"
    with pytest.raises(Conflict, match="already been answered"):
        do_answer_csat(session, clock, survey.token, 5)
    with pytest.raises(NotFound):
        csat_question(session, "../../etc/passwd")
    assert _events(session, E.CSAT_ANSWERED)[-1].conversation_id == c.id


def test_unanswered_past_resolution_target_is_abandoned_once_with_reason(session, clock):
    d = desk(session, clock, resolution=60 * 8)
    c = inbound(session, clock, d.ws)
    clock.advance(hours=7)
    assert do_mark_abandoned(session, clock) == 0
    clock.advance(hours=1, seconds=1)
    assert do_mark_abandoned(session, clock) == 1
    assert do_mark_abandoned(session, clock) == 0
    session.refresh(c)
    assert c.abandon_reason == UNANSWERED
    assert _events(session, E.ABANDONED)[-1].payload["reason"] == UNANSWERED


def test_customer_going_quiet_mid_process_is_abandoned(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws)
    do_send_reply(session, clock, c, d.agents[0], "Which model is it?")
    clock.advance(hours=71)
    assert do_mark_abandoned(session, clock) == 0
    clock.advance(hours=2)
    assert do_mark_abandoned(session, clock) == 1
    session.refresh(c)
    assert c.abandon_reason == STOPPED


def test_csat_invitation_per_channel_in_customer_language(session, clock):
    d = desk(session, clock)
    on_x = inbound(session, clock, d.ws, author="i1", channel="x", language="da")
    by_mail = inbound(session, clock, d.ws, author="i2", channel="email")
    text, how = invitation(session, do_send_csat(session, clock, on_x), "https://desk.example/")
    assert how == "dm" and text.startswith("Hvordan") and "https://desk.example/csat/" in text
    assert invitation(session, do_send_csat(session, clock, by_mail), "https://d")[1] == "reply"
    d.ws.settings = {"csat_delivery": {"x": "off"}}
    assert invitation(session, do_send_csat(session, clock, on_x), "https://d")[1] == "off"
