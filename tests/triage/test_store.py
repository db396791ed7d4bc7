"""What the pipeline reads from the database for triage: VIP authors, workspace priority
rules and the workspace's retrained model (with a safe fallback)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from caredesk.conversations.service import do_record_inbound
from caredesk.kit.clock import Clock
from caredesk.models import Customer, TriageModel
from caredesk.triage import Triager
from caredesk.triage.store import is_vip_author, rules_for, triager_for
from tests import factories as f


def test_vip_author_is_found_by_channel_identity(session: Session, clock: Clock) -> None:
    ws = f.workspace(session, clock)
    out = do_record_inbound(
        session, clock, ws, f.post(author="vip-1"), account_id=None, triage=f.triage()
    )
    assert not is_vip_author(session, ws.id, "generic", "vip-1")
    session.get_one(Customer, out.conversation.customer_id).vip = True
    session.flush()
    assert is_vip_author(session, ws.id, "generic", "vip-1")
    assert not is_vip_author(session, ws.id, "generic", "someone-else")
    assert not is_vip_author(session, ws.id, "email", "vip-1")


def test_workspace_priority_rules_come_from_settings(session: Session, clock: Clock) -> None:
    ws = f.workspace(session, clock)
    assert "recall" not in rules_for(ws).urgent_terms
    ws.settings = {"triage_priority": {"extra_urgent_terms": ["recall"], "vip_points": 4}}
    rules = rules_for(ws)
    assert "recall" in rules.urgent_terms and rules.vip_points == 4
    ws.settings = {"triage_priority": {"vip_points": "many"}}
    assert rules_for(ws).vip_points == 3  # a bad setting falls back to the defaults


def test_a_broken_stored_model_falls_back_to_the_shipped_one(
    session: Session, clock: Clock, triager: Triager
) -> None:
    ws = f.workspace(session, clock)
    assert triager_for(session, ws.id) is triager
    session.add(
        TriageModel(workspace_id=ws.id, blob=b"not a model", report={}, created_at=clock.now())
    )
    session.flush()
    assert triager_for(session, ws.id) is triager
