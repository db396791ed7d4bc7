"""No SLA clocks on conversations nobody is expected to answer (noise, a closing thank-you):
no due time, no near/breach events, no auto-acknowledgment; the clocks start at the first
message that needs a reply."""

from datetime import timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from caredesk.cli import app
from caredesk.config import Settings
from caredesk.conversations import sla
from caredesk.conversations.service import TriageView, do_record_inbound
from caredesk.conversations.sla_scope import sla_status
from caredesk.events import E
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import Conversation, Event, Workspace
from caredesk.pipeline import do_auto_acknowledge
from caredesk.replies.service import do_send_reply
from caredesk.routing.service import do_route
from caredesk.routing.sweeper import do_sweep_timers
from tests import factories as f
from tests.routing.support import desk, inbound

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


def _post(session, clock, ws: Workspace, triage: TriageView, text: str, **kw) -> Conversation:
    out = do_record_inbound(
        session, clock, ws, f.post(text, at=clock.now(), **kw), account_id=None, triage=triage
    )
    do_route(session, clock, out.conversation)
    session.flush()
    return out.conversation


def _count(session, name, conversation_id):
    return session.execute(
        select(func.count())
        .select_from(Event)
        .where(Event.conversation_id == conversation_id, Event.name == str(name))
    ).scalar_one()


def test_noise_conversation_gets_no_clocks_and_never_breaches(session, clock):
    d = desk(session, clock, first_response=60, auto_ack=5)
    c = _post(session, clock, d.ws, NOISE, "cheap followers at spam.example", author="spam")
    assert c.sla_policy_id is None
    assert (c.sla_due_at, c.timer_due_at, c.first_response_due_at) == (None, None, None)
    assert (c.resolution_due_at, c.next_response_due_at) == (None, None)
    assert sla_status(c) == ("no_reply_needed", "no reply needed: noise")
    clock.advance(days=5)
    r = do_sweep_timers(session, clock)
    assert (r.near, r.breached, r.auto_ack) == (0, 0, 0)
    for name in (E.SLA_NEAR_BREACH, E.SLA_BREACHED, E.AUTO_ACK_REQUESTED, E.SLA_APPLIED):
        assert _count(session, name, c.id) == 0
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
    c = _post(session, clock, d.ws, THANKS, "thanks!", author="fan")
    assert c.sla_due_at is None and c.sla_policy_id is None
    assert sla_status(c) == (
        "no_reply_needed",
        "no reply needed: a bare thank-you or OK closes the conversation",
    )


def test_care_conversation_still_runs_clocks(session, clock):
    d = desk(session, clock, first_response=60)
    c = _post(session, clock, d.ws, CARE, "where is my parcel?", author="care1")
    assert c.sla_due_at == clock.now() + timedelta(minutes=60)
    assert sla_status(c) == ("running", None)


def test_later_message_needing_reply_starts_clocks_from_that_message(session, clock):
    d = desk(session, clock, first_response=60)
    c = _post(session, clock, d.ws, NOISE, "lol random meme", author="mixed")
    clock.advance(days=2)
    asked_at = clock.now()
    same = _post(session, clock, d.ws, CARE, "actually, my order never came", author="mixed")
    assert same.id == c.id
    # Not two days overdue: the customer has waited since the question, not the meme.
    assert c.first_response_due_at == asked_at + timedelta(minutes=60)
    assert sla_status(c) == ("running", None)
    assert _count(session, E.SLA_APPLIED, c.id) == 1
    clock.advance(minutes=61)
    assert do_sweep_timers(session, clock).breached == 1
    breach = session.execute(
        select(Event).where(Event.conversation_id == c.id, Event.name == str(E.SLA_BREACHED))
    ).scalar_one()
    assert breach.occurred_at == asked_at + timedelta(minutes=60)


def test_thank_you_after_our_answer_starts_no_next_response_clock(session, clock):
    d = desk(session, clock, first_response=60, next_response=30, resolution=None)
    c = _post(session, clock, d.ws, CARE, "my router is dead", author="grateful")
    do_send_reply(session, clock, c, d.agents[0], "Restart it please")
    clock.advance(minutes=5)
    _post(session, clock, d.ws, THANKS, "thanks!", author="grateful")
    assert c.next_response_due_at is None and c.sla_due_at is None
    clock.advance(hours=2)
    assert do_sweep_timers(session, clock).breached == 0
    # A real follow-up question does start the next-response clock.
    _post(session, clock, d.ws, CARE, "still dead after restart", author="grateful")
    assert c.next_response_due_at == clock.now() + timedelta(minutes=30)


def test_noise_on_imported_history_stays_without_clocks(session, clock):
    d = desk(session, clock, first_response=60)
    out = do_record_inbound(
        session,
        clock,
        d.ws,
        f.post("spam", at=clock.now()),
        account_id=None,
        triage=NOISE,
        imported=True,
    )
    do_route(session, clock, out.conversation, live=False)
    assert out.conversation.sla_due_at is None
    assert sla_status(out.conversation) == ("none", None)


def test_cli_queue_says_no_reply_instead_of_a_timer(connection, sessions, session, clock):
    d = desk(session, clock, first_response=60)
    noise = _post(session, clock, d.ws, NOISE, "spam spam", author="cli-noise")
    care = _post(session, clock, d.ws, CARE, "where is my order", author="cli-care")
    session.commit()
    set_runtime(
        Runtime(Settings(secret_key="cli-test-secret-123"), connection.engine, sessions, clock)
    )
    try:
        result = CliRunner().invoke(app, ["routing", "queue", d.ws.name])
    finally:
        set_runtime(None)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "no reply" in lines[noise.reference]
    assert "+60 min" in lines[care.reference]
