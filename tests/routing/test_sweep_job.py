"""The periodic sweep job end to end: timers, the auto-ack job it enqueues, missed follow-ups
and queue draining, each in its own committed transaction."""

from datetime import timedelta

from sqlalchemy import select

from caredesk import tasks
from caredesk.config import Settings
from caredesk.conversations.followups import do_schedule_follow_up
from caredesk.events import E
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import Agent, Conversation, FollowUp, Message
from tests.routing.support import count_events, desk, inbound


def test_sweep_job_fires_breach_sends_auto_ack_marks_missed_and_drains(
    connection, sessions, session, clock
):
    d = desk(session, clock, agents=1, presence="offline", first_response=30, auto_ack=5)
    c = inbound(session, clock, d.ws)
    fu = do_schedule_follow_up(
        session, clock, c, d.agents[0], kind="email", due_at=clock.now() + timedelta(minutes=10)
    )
    session.commit()
    set_runtime(
        Runtime(Settings(secret_key="test-secret-key-123"), connection.engine, sessions, clock)
    )
    try:
        clock.advance(minutes=6)
        first = tasks.sweep_conversation_timers()
        assert first["auto_ack"] == 1
        with sessions() as s:
            auto = s.execute(
                select(Message).where(Message.conversation_id == c.id, Message.is_auto_ack)
            ).scalar_one()
            assert auto.direction == "out"
            assert s.get_one(Conversation, c.id).status == "acknowledged"
        clock.advance(hours=2)
        with sessions() as s:
            s.get_one(Agent, d.agents[0].id).presence = "online"
            s.commit()
        second = tasks.sweep_conversation_timers()
        assert second["breached"] == 1 and second["follow_ups_missed"] == 1
        assert second["drained"] == 1
        again = tasks.sweep_conversation_timers()
        assert again["breached"] == 0 and again["auto_ack"] == 0
        with sessions() as s:
            assert count_events(s, E.SLA_BREACHED, c.id) == 1
            assert count_events(s, E.AUTO_ACK_REQUESTED, c.id) == 1
            assert s.get_one(FollowUp, fu.id).status == "missed"
            assert s.get_one(Conversation, c.id).assignee_id == d.agents[0].id
    finally:
        set_runtime(None)
