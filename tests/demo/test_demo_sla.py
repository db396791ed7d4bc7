"""The demo desk with an SLA policy (as the browser tests and a first-time admin set it up):
noise and closing thank-you conversations show no SLA timer, everything else does."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caredesk.conversations.repository import workspace_by_name
from caredesk.conversations.sla import do_apply_sla
from caredesk.conversations.sla_scope import sla_status
from caredesk.importers.demo import DEMO_WORKSPACE, load_demo
from caredesk.kit.clock import FrozenClock
from caredesk.models import Conversation
from caredesk.pipeline import triage_view
from caredesk.routing.admin import do_save_sla_policy


def test_demo_noise_conversations_show_no_overdue_sla(
    sessions: sessionmaker[Session], session: Session, clock: FrozenClock
) -> None:
    load_demo(sessions, clock, triage_view)
    workspace = workspace_by_name(session, DEMO_WORKSPACE)
    assert workspace is not None
    do_save_sla_policy(
        session, clock, workspace.id, agent=None, team_id=None, priority=None,
        first_response_minutes=360, resolution_minutes=48 * 60,
    )  # fmt: skip
    rows = (
        session.execute(select(Conversation).where(Conversation.workspace_id == workspace.id))
        .scalars()
        .all()
    )
    for c in rows:
        do_apply_sla(session, clock, c, live=False)
    noise = [c for c in rows if c.kind == "noise" or not c.needs_reply]
    care = [c for c in rows if c.kind == "care" and c.needs_reply and c.status == "new"]
    assert len(noise) >= 10 and len(care) >= 10  # the demo holds both
    overdue = [c.reference for c in noise if c.sla_due_at is not None]
    assert overdue == []
    assert {sla_status(c)[0] for c in noise} == {"no_reply_needed"}
    # Unanswered care posts from days ago are overdue, as they should be.
    assert all(c.sla_due_at is not None for c in care)
    assert any(c.sla_due_at is not None and c.sla_due_at < clock.now() for c in care)
