"""Inbound posts through the real pipeline (listening -> triage -> conversations -> routing):
triage's "no reply needed" keeps SLA clocks off; a later question in the thread starts them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from caredesk.conversations.sla_scope import sla_status
from caredesk.kit.clock import FrozenClock
from caredesk.models import ChannelAccount
from caredesk.routing.admin import do_save_sla_policy
from caredesk.routing.sweeper import do_sweep_timers
from tests import factories as f
from tests.pipeline_support import receive


def _desk(session: Session, clock: FrozenClock) -> ChannelAccount:
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    f.team(session, clock, ws)  # routing puts every post in a team's queue, then the SLA
    do_save_sla_policy(
        session, clock, ws.id, agent=None, team_id=None, priority=None,
        first_response_minutes=60, resolution_minutes=24 * 60, auto_ack_minutes=5,
    )  # fmt: skip
    return acct


def test_spam_and_a_bare_thank_you_arrive_without_sla_clocks(session, clock):
    acct = _desk(session, clock)
    spam = receive(session, clock, acct, "Buy crypto now, 1000x guaranteed, DM me", "spam1")
    thanks = receive(session, clock, acct, "thanks!", "fan1")
    care = receive(session, clock, acct, "my parcel never arrived, order 1234", "cust1")
    assert (spam.kind, spam.needs_reply) == ("noise", False)
    assert spam.sla_due_at is None and thanks.sla_due_at is None
    assert sla_status(spam) == ("no_reply_needed", "no reply needed: noise")
    assert sla_status(thanks)[0] == "no_reply_needed"
    assert care.sla_due_at == clock.now() + timedelta(minutes=60)
    clock.advance(days=5)
    r = do_sweep_timers(session, clock)
    # Only the care post acknowledges and breaches (first response and resolution).
    assert (r.auto_ack, r.breached) == (1, 2)


def test_question_after_noise_in_the_same_thread_starts_the_clock_then(session, clock):
    acct = _desk(session, clock)
    first = receive(session, clock, acct, "lol this meme", "mixed1")
    clock.advance(hours=30)
    again = receive(session, clock, acct, "my parcel never arrived, order 1234", "mixed1")
    assert again.id == first.id
    assert again.first_response_due_at == clock.now() + timedelta(minutes=60)
