"""Conversations routed before clocks followed the reply need (noise with running clocks):
the sweeper stops them instead of breaching, and `caredesk routing stop-unneeded-sla` cleans
up the ones whose breach already fired."""

from __future__ import annotations

import json

from caredesk.cli import app
from caredesk.events import E
from caredesk.models import Conversation
from caredesk.routing.sweeper import do_sweep_timers
from tests.apptest import cli_runtime
from tests.routing.support import count_events, desk, inbound


def _legacy_noise(session, clock, ws, author) -> Conversation:
    """A noise post as older versions left it: clocks running (set the fields behind the
    service's back, as the stored rows are)."""
    c = inbound(session, clock, ws, "cheap watches!!!", author=author)
    assert c.sla_due_at is not None
    c.kind, c.needs_reply = "noise", False
    session.flush()
    return c


def test_sweeper_stops_legacy_clocks_instead_of_breaching(session, clock):
    d = desk(session, clock, first_response=60)
    c = _legacy_noise(session, clock, d.ws, "legacy1")
    clock.advance(minutes=61)
    r = do_sweep_timers(session, clock)
    assert r.breached == 0 and r.near == 0
    assert c.sla_due_at is None and c.timer_due_at is None
    assert count_events(session, E.SLA_STOPPED, c.id) == 1
    assert count_events(session, E.SLA_BREACHED, c.id) == 0


def test_cli_clears_overdue_badges_left_on_noise_and_is_idempotent(
    connection, sessions, session, clock
):
    d = desk(session, clock, first_response=60, next_response=None, resolution=None)
    c = inbound(session, clock, d.ws, "cheap watches!!!", author="legacy2")
    care = inbound(session, clock, d.ws, "my order is late", author="care2")
    clock.advance(days=5)
    do_sweep_timers(session, clock)  # the old breach fires; the due time stays in the past
    c.kind, c.needs_reply = "noise", False
    session.commit()
    assert c.sla_due_at is not None and c.timer_due_at is None
    with cli_runtime(connection, sessions, clock) as cli:
        first = cli.invoke(app, ["routing", "stop-unneeded-sla", "--batch", "1"])
        again = cli.invoke(app, ["routing", "stop-unneeded-sla"])
        bad = cli.invoke(app, ["routing", "stop-unneeded-sla", "--workspace", "nope"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output.strip().splitlines()[-1]) == {"stopped": 1}
    assert json.loads(again.output.strip().splitlines()[-1]) == {"stopped": 0}
    assert bad.exit_code == 1 and "no workspace 'nope'" in bad.output
    session.expire_all()
    assert session.get_one(Conversation, c.id).sla_due_at is None
    assert session.get_one(Conversation, care.id).sla_due_at is not None
    assert count_events(session, E.SLA_BREACHED, c.id) == 1  # history stays
