"""The survey link goes out once, on the conversation's channel, even after close, and is never
counted as a response."""

from __future__ import annotations

from sqlalchemy import func, select

from caredesk.conversations.csat import do_send_csat
from caredesk.models import Message, OutboxItem
from caredesk.replies.service import do_send_csat_invitation
from tests.routing.support import desk, inbound


def test_survey_link_goes_out_once_on_a_closed_conversation_without_counting_as_a_response(
    session, clock
):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws, author="csat1", channel="email", language="en")
    c.status = "closed"
    session.flush()
    survey = do_send_csat(session, clock, c)

    first = do_send_csat_invitation(session, clock, survey.id, "https://desk.example")
    again = do_send_csat_invitation(session, clock, survey.id, "https://desk.example")

    assert first is not None and again is not None and first.id == again.id
    assert f"https://desk.example/csat/{survey.token}" in first.text
    assert first.is_private is False  # email default is a reply in the thread
    outbox = session.scalar(
        select(func.count()).select_from(OutboxItem).where(OutboxItem.message_id == first.id)
    )
    assert outbox == 1
    session.refresh(c)
    assert c.status == "closed"
    assert c.first_response_at is None


def test_survey_link_is_a_private_message_on_x_and_skipped_when_turned_off(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws, author="csat2", channel="x", language="da")
    survey = do_send_csat(session, clock, c)

    sent = do_send_csat_invitation(session, clock, survey.id, "https://d")
    assert sent is not None and sent.is_private is True and sent.text.startswith("Hvordan")

    other = inbound(session, clock, d.ws, author="csat3", channel="x")
    d.ws.settings = {"csat_delivery": {"x": "off"}}
    quiet = do_send_csat(session, clock, other)
    assert do_send_csat_invitation(session, clock, quiet.id, "https://d") is None
    count = session.scalar(
        select(func.count()).select_from(Message).where(Message.conversation_id == other.id)
    )
    assert count == 1  # only the customer's post
