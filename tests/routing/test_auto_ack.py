"""Auto-acknowledgment (S6): sent once through the outbox after N minutes without an answer;
it acknowledges but is not the first response."""

from sqlalchemy import func, select

from caredesk.conversations.autoack import auto_ack_text
from caredesk.events import E
from caredesk.models import Event, Message, OutboxItem
from caredesk.pipeline import do_auto_acknowledge
from caredesk.replies.service import do_send_reply
from caredesk.routing.sweeper import do_sweep_timers
from tests.routing.support import desk, inbound


def _auto_messages(session, conversation_id):
    return list(
        session.execute(
            select(Message).where(
                Message.conversation_id == conversation_id, Message.is_auto_ack.is_(True)
            )
        ).scalars()
    )


def test_auto_ack_after_n_minutes_acknowledges_but_is_not_first_response(session, clock):
    d = desk(session, clock, agents=0, first_response=60, auto_ack=5)
    d.ws.settings = {"auto_ack_texts": {"generic": "We got it - hang tight."}}
    c = inbound(session, clock, d.ws)
    clock.advance(minutes=4)
    assert do_sweep_timers(session, clock).auto_ack == 0
    clock.advance(minutes=2)
    assert do_sweep_timers(session, clock).auto_ack == 1
    assert do_sweep_timers(session, clock).auto_ack == 0
    # The job runs in tests' immediate mode only after commit; call the handler's service.
    assert do_auto_acknowledge(session, clock, c.id) is True
    assert do_auto_acknowledge(session, clock, c.id) is False
    [msg] = _auto_messages(session, c.id)
    assert msg.text == "We got it - hang tight."
    outbox = session.execute(
        select(func.count()).select_from(OutboxItem).where(OutboxItem.message_id == msg.id)
    ).scalar_one()
    assert outbox == 1
    assert c.acknowledged_at is not None and c.first_response_at is None
    assert c.status == "acknowledged"
    requested = session.execute(
        select(func.count())
        .select_from(Event)
        .where(Event.conversation_id == c.id, Event.name == str(E.AUTO_ACK_REQUESTED))
    ).scalar_one()
    assert requested == 1
    clock.advance(minutes=55)
    do_sweep_timers(session, clock)
    breached = session.execute(
        select(func.count())
        .select_from(Event)
        .where(Event.conversation_id == c.id, Event.name == str(E.SLA_BREACHED))
    ).scalar_one()
    assert breached == 1  # the auto-ack did not stop the first-response clock


def test_no_auto_ack_when_an_agent_answered_first(session, clock):
    d = desk(session, clock, agents=1, first_response=60, auto_ack=5)
    c = inbound(session, clock, d.ws)
    clock.advance(minutes=2)
    do_send_reply(session, clock, c, d.agents[0], "Hi! Looking now.")
    clock.advance(minutes=10)
    assert do_sweep_timers(session, clock).auto_ack == 0
    assert do_auto_acknowledge(session, clock, c.id) is False
    assert _auto_messages(session, c.id) == []


def test_auto_ack_text_most_specific_setting_wins(session, clock):
    d = desk(session, clock, agents=0)
    d.ws.settings = {
        "auto_ack_texts": {
            "default": {"da": "Tak!", "en": "Thanks!"},
            f"team:{d.team.id}:x": "Team X text",
        }
    }
    assert auto_ack_text(d.ws, d.team, "x", "en") == "Team X text"
    assert auto_ack_text(d.ws, d.team, "email", "da") == "Tak!"
    assert auto_ack_text(d.ws, None, "email", "hi") == "Thanks!"
    d.ws.settings = {}
    assert "ధన్యవాదాలు" in auto_ack_text(d.ws, None, "x", "te")
