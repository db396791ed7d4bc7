"""No SLA clocks on conversations nobody is expected to answer (noise, a closing thank-you):
no due time, no near/breach events, no auto-acknowledgment; the clocks start at the first
message that needs a reply."""

from datetime import timedelta

from sqlalchemy import select

from caredesk.cli import app
from caredesk.conversations import sla
from caredesk.conversations.service import TriageView
from caredesk.conversations.sla_scope import sla_status
from caredesk.events import E
from caredesk.models import Event
from caredesk.pipeline import do_auto_acknowledge
from caredesk.replies.service import do_send_reply
from caredesk.routing.sweeper import do_sweep_timers
from tests.apptest import cli_runtime
from tests.routing.support import count_events, desk, inbound

NOISE = TriageView(
    language="en",
    kind="noise",
    intent="other",
    needs_reply=False,
    reasons=("kind noise (91%)", "no reply needed: noise"),
)
THANKS = TriageView(
    language="en",
    kind="engagement",
    intent="praise",
    needs_reply=False,
    reasons=("no reply needed: a bare thank-you or OK closes the conversation",),
)
CARE = TriageView(language="en", kind="care", intent="delivery", needs_reply=True)


def test_noise_conversation_gets_no_clocks_and_never_breaches(session, clock):
    d = desk(session, clock, first_response=60, auto_ack=5)
    c = inbound(
        session, clock, d.ws, "cheap followers at spam.example", author="spam", triage=NOISE
    )
    assert c.sla_policy_id is None
    assert (c.sla_due_at, c.timer_due_at, c.first_response_due_at) == (None, None, None)
    assert (c.resolution_due_at, c.next_response_due_at) == (None, None)
    assert sla_status(c) == ("no_reply_needed", "no reply needed: noise")
    clock.advance(days=5)
    r = do_sweep_timers(session, clock)
    assert (r.near, r.breached, r.auto_ack) == (0, 0, 0)
    for name in (E.SLA_NEAR_BREACH, E.SLA_BREACHED, E.AUTO_ACK_REQUESTED, E.SLA_APPLIED):
        assert count_events(session, name, c.id) == 0
    # Even a stray auto-ack job sends nothing on a conversation nobody should answer.
    assert do_auto_acknowledge(session, clock, c.id) is False
    assert sla.time_left(c, clock.now()) is None


def test_noise_kind_alone_stops_clocks_even_if_reply_flag_is_set(session, clock):
    d = desk(session, clock, first_response=60)
    # tests' default triage says needs_reply=True for every kind: the kind still decides.
    c = inbound(session, clock, d.ws, "buy now!!!", kind="noise")
    assert c.sla_due_at is None and c.sla_policy_id is None
    assert sla_status(c)[0] == "no_reply_needed"


def test_bare_thank_you_conversation_gets_no_clocks_with_triage_reason(session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(session, clock, d.ws, "thanks!", author="fan", triage=THANKS)
    assert c.sla_due_at is None and c.sla_policy_id is None
    assert sla_status(c) == (
        "no_reply_needed",
        "no reply needed: a bare thank-you or OK closes the conversation",
    )


def test_care_conversation_still_runs_clocks(session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(session, clock, d.ws, "where is my parcel?", author="care1", triage=CARE)
    assert c.sla_due_at == clock.now() + timedelta(minutes=60)
    assert sla_status(c) == ("running", None)


def test_later_message_needing_reply_starts_clocks_from_that_message(session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(session, clock, d.ws, "lol random meme", author="mixed", triage=NOISE)
    clock.advance(days=2)
    asked_at = clock.now()
    same = inbound(
        session, clock, d.ws, "actually, my order never came", author="mixed", triage=CARE
    )
    assert same.id == c.id
    # Not two days overdue: the customer has waited since the question, not the meme.
    assert c.first_response_due_at == asked_at + timedelta(minutes=60)
    assert sla_status(c) == ("running", None)
    assert count_events(session, E.SLA_APPLIED, c.id) == 1
    clock.advance(minutes=61)
    assert do_sweep_timers(session, clock).breached == 1
    breach = session.execute(
        select(Event).where(Event.conversation_id == c.id, Event.name == str(E.SLA_BREACHED))
    ).scalar_one()
    assert breach.occurred_at == asked_at + timedelta(minutes=60)


def test_thank_you_after_our_answer_starts_no_next_response_clock(session, clock):
    d = desk(session, clock, first_response=60, next_response=30, resolution=None)
    c = inbound(session, clock, d.ws, "my router is dead", author="grateful", triage=CARE)
    do_send_reply(session, clock, c, d.agents[0], "Restart it please")
    clock.advance(minutes=5)
    inbound(session, clock, d.ws, "thanks!", author="grateful", triage=THANKS)
    assert c.next_response_due_at is None and c.sla_due_at is None
    clock.advance(hours=2)
    assert do_sweep_timers(session, clock).breached == 0
    # A real follow-up question does start the next-response clock.
    inbound(session, clock, d.ws, "still dead after restart", author="grateful", triage=CARE)
    assert c.next_response_due_at == clock.now() + timedelta(minutes=30)


def test_noise_on_imported_history_stays_without_clocks(session, clock):
    d = desk(session, clock, first_response=60)
    c = inbound(session, clock, d.ws, "spam", triage=NOISE, imported=True)
    assert c.sla_due_at is None
    assert sla_status(c) == ("none", None)


def test_cli_queue_says_no_reply_instead_of_a_timer(connection, sessions, session, clock):
    d = desk(session, clock, first_response=60)
    noise = inbound(session, clock, d.ws, "spam spam", author="cli-noise", triage=NOISE)
    care = inbound(session, clock, d.ws, "where is my order", author="cli-care", triage=CARE)
    session.commit()
    with cli_runtime(connection, sessions, clock) as cli:
        result = cli.invoke(app, ["routing", "queue", d.ws.name])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "no reply" in lines[noise.reference]
    assert "+60 min" in lines[care.reference]
