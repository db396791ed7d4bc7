"""The pipeline triages a workspace's posts with that workspace's rules, VIP customers and
retrained model."""

from __future__ import annotations

from sqlalchemy.orm import Session

from caredesk.kit.clock import Clock
from caredesk.models import Customer
from caredesk.triage import Triager, retrain
from caredesk.triage.store import do_save_model
from tests import factories as f
from tests.pipeline_support import receive


def test_workspace_urgent_terms_apply_to_its_posts(session: Session, clock: Clock) -> None:
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    plain = receive(session, clock, acct, "is my car part of the recall?", "a1")
    assert plain.priority == "normal"
    ws.settings = {**(ws.settings or {}), "triage_priority": {"extra_urgent_terms": ["recall"]}}
    session.flush()
    raised = receive(session, clock, acct, "is my van part of the recall?", "a2")
    assert raised.priority == "urgent"
    assert any("recall" in why for why in raised.triage_reasons)


def test_a_known_vip_is_raised(session: Session, clock: Clock) -> None:
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    first = receive(session, clock, acct, "where is my order?", "vip7")
    session.get_one(Customer, first.customer_id).vip = True
    session.flush()
    again = receive(session, clock, acct, "how do I update my card details?", "vip7")
    assert any("VIP customer" in why for why in again.triage_reasons)


def test_the_latest_retrained_model_is_used(
    session: Session, clock: Clock, triager: Triager
) -> None:
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    report = retrain(
        [{"text": f"the boxie {i} at my street is jammed", "field": "intent", "label": "delivery"}
         for i in range(8)]
    )  # fmt: skip
    do_save_model(session, clock, ws.id, report)
    session.flush()
    probe = "the boxie near the station is jammed"
    assert triager.triage(probe).intent != "delivery"
    conv = receive(session, clock, acct, probe, "b1")
    assert conv.intent == "delivery"
