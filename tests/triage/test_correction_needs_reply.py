"""A kind correction also decides whether someone must answer (``needs_reply``), with the rule
triage applies, and says so in the event, so SLA clocks and report scope follow it."""

from __future__ import annotations

from sqlalchemy import select

from caredesk.conversations.service import TriageView, do_record_inbound
from caredesk.models import Event
from caredesk.triage.store import do_correct_triage
from tests import factories as f


def _open(session, clock, text, kind="care", needs_reply=True):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    triage = TriageView(language="en", kind=kind, needs_reply=needs_reply)
    out = do_record_inbound(session, clock, ws, f.post(text), account_id=None, triage=triage)
    return out.conversation, agent


def _kind_event(session, conversation_id):
    return (
        session.execute(
            select(Event).where(
                Event.conversation_id == conversation_id, Event.name == "triage.corrected"
            )
        )
        .scalars()
        .all()
    )


def test_correcting_to_noise_means_no_reply_needed(session, clock):
    c, agent = _open(session, clock, "win a free phone at scam.example")
    do_correct_triage(session, clock, c, agent, {"kind": "noise"})
    assert c.needs_reply is False
    assert c.triage_reasons[-1] == "no reply needed: noise"
    [event] = [e for e in _kind_event(session, c.id) if e.payload["field"] == "kind"]
    assert event.payload["needs_reply"] is False


def test_correcting_noise_to_care_means_a_reply_is_needed(session, clock):
    c, agent = _open(session, clock, "my parcel is lost", kind="noise", needs_reply=False)
    do_correct_triage(session, clock, c, agent, {"kind": "care"})
    assert c.needs_reply is True
    [event] = [e for e in _kind_event(session, c.id) if e.payload["field"] == "kind"]
    assert event.payload["needs_reply"] is True


def test_bare_thank_you_corrected_to_engagement_needs_no_reply(session, clock):
    c, agent = _open(session, clock, "thanks!", kind="care")
    do_correct_triage(session, clock, c, agent, {"kind": "engagement"})
    assert c.needs_reply is False


def test_correcting_only_the_priority_leaves_reply_need_alone(session, clock):
    c, agent = _open(session, clock, "my parcel is lost", kind="noise", needs_reply=False)
    do_correct_triage(session, clock, c, agent, {"priority": "high"})
    assert c.needs_reply is False
