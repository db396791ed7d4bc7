"""Agents correct a conversation's triage through the API; corrections are stored as labels,
recorded as events, and `caredesk triage retrain` learns from them."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from caredesk.cli import app as cli_app
from caredesk.config import Settings
from caredesk.conversations.service import do_record_inbound
from caredesk.httpkit.session import COOKIE, _serializer
from caredesk.kit.clock import Clock
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import Agent, Conversation, Event, TriageCorrection, TriageModel
from caredesk.triage import Triager
from caredesk.triage.store import corrections_of, do_correct_triage, triager_for
from tests import factories as f
from tests.apptest import client_for

SECRET = "test-secret-key-123"


def _sign_in(client: TestClient, agent: Agent) -> None:
    client.cookies.set(COOKIE, _serializer(SECRET).dumps({"a": agent.id, "c": "csrf"}))


def _conversation(session: Session, clock: Clock, text: str) -> tuple[Conversation, Agent]:
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    out = do_record_inbound(session, clock, ws, f.post(text), account_id=None, triage=f.triage())
    session.commit()
    return out.conversation, agent


def test_agent_corrects_triage_and_it_is_stored_and_recorded(
    connection: Connection, sessions: sessionmaker[Session], session: Session, clock: Clock
) -> None:
    conv, agent = _conversation(session, clock, "your app ate my homework")
    with client_for(connection, sessions, clock) as client:
        _sign_in(client, agent)
        res = client.post(
            f"/api/v1/conversations/{conv.id}/triage",
            json={"kind": "noise", "intent": "other", "priority": "normal"},
        )
    assert res.status_code == 200, res.text
    body = res.json()
    assert (body["kind"], body["intent"]) == ("noise", "other")
    assert body["changed"] == ["kind", "intent"]  # priority was already normal
    session.expire_all()
    rows = session.execute(select(TriageCorrection)).scalars().all()
    assert {(r.field, r.old_value, r.new_value, r.text) for r in rows} == {
        ("kind", "care", "noise", "your app ate my homework"),
        ("intent", None, "other", "your app ate my homework"),
    }
    events = session.execute(
        select(Event).where(Event.name == "triage.corrected", Event.conversation_id == conv.id)
    ).scalars()
    assert sorted(e.payload["field"] for e in events) == ["intent", "kind"]
    assert [c.label for c in corrections_of(session, conv.workspace_id)] == ["noise", "other"]


def test_agent_of_another_workspace_gets_404(
    connection: Connection, sessions: sessionmaker[Session], session: Session, clock: Clock
) -> None:
    conv, _ = _conversation(session, clock, "where is my refund")
    stranger = f.agent(session, clock, f.workspace(session, clock))
    session.commit()
    with client_for(connection, sessions, clock) as client:
        _sign_in(client, stranger)
        res = client.post(f"/api/v1/conversations/{conv.id}/triage", json={"kind": "sales"})
    assert res.status_code == 404
    assert session.execute(select(TriageCorrection)).first() is None


def test_invalid_corrections_are_4xx_naming_the_field(
    connection: Connection, sessions: sessionmaker[Session], session: Session, clock: Clock
) -> None:
    conv, agent = _conversation(session, clock, "where is my refund")
    with client_for(connection, sessions, clock) as client:
        res = client.post(f"/api/v1/conversations/{conv.id}/triage", json={"kind": "sales"})
        assert res.status_code == 401
        _sign_in(client, agent)
        bad_kind = client.post(f"/api/v1/conversations/{conv.id}/triage", json={"kind": "x"})
        unknown = client.post(f"/api/v1/conversations/{conv.id}/triage", json={"mood": "sad"})
        empty = client.post(f"/api/v1/conversations/{conv.id}/triage", json={})
    assert bad_kind.status_code == 422 and "not a kind" in bad_kind.text
    assert unknown.status_code == 422 and "mood" in unknown.text
    assert empty.status_code == 422 and "at least one" in empty.text


def test_retrain_learns_from_stored_corrections_and_the_pipeline_uses_it(
    connection: Connection,
    sessions: sessionmaker[Session],
    session: Session,
    clock: Clock,
    triager: Triager,
) -> None:
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    # This brand's customers call their parcel lockers "boxies": agents teach it as delivery.
    texts = [f"my boxie number {i} will not open" for i in range(12)]
    for i, text in enumerate(texts):
        out = do_record_inbound(
            session, clock, ws, f.post(text, author=f"u{i}"), account_id=None, triage=f.triage()
        )
        do_correct_triage(session, clock, out.conversation, agent, {"intent": "delivery"})
    session.commit()
    probe = "the boxie at the station will not open"
    assert triager.triage(probe).intent != "delivery"
    assert triager_for(session, ws.id) is triager

    set_runtime(Runtime(Settings(secret_key=SECRET), connection.engine, sessions, clock))
    try:
        result = CliRunner().invoke(
            cli_app, ["triage", "retrain", "--workspace", ws.name, "--json"]
        )
    finally:
        set_runtime(None)
    assert result.exit_code == 0, result.stderr
    assert "12 corrections used" in result.stdout
    assert "accuracy on" in result.stdout  # before -> after on held-out corrections
    report = json.loads(result.stdout.strip().splitlines()[-1])
    intent = next(x for x in report["fields"] if x["field"] == "intent")
    assert intent["after_accuracy"] > intent["before_accuracy"]
    session.expire_all()
    assert session.execute(select(TriageModel).where(TriageModel.workspace_id == ws.id)).first()
    adjusted = triager_for(session, ws.id)
    assert adjusted is not triager
    assert adjusted.triage(probe).intent == "delivery"
    assert triager.triage(probe).intent != "delivery"  # other workspaces are untouched


def test_retrain_without_corrections_says_so(
    connection: Connection, sessions: sessionmaker[Session], session: Session, clock: Clock
) -> None:
    ws = f.workspace(session, clock)
    session.commit()
    set_runtime(Runtime(Settings(secret_key=SECRET), connection.engine, sessions, clock))
    try:
        result = CliRunner().invoke(cli_app, ["triage", "retrain", "--workspace", ws.name])
    finally:
        set_runtime(None)
    assert result.exit_code == 1
    assert "no triage corrections" in result.stderr


def test_correcting_the_intent_keeps_the_kind_consistent(session: Session, clock: Clock) -> None:
    conv, agent = _conversation(session, clock, "the boxie is jammed")
    conv.kind, conv.intent = "noise", "other"
    changed = do_correct_triage(session, clock, conv, agent, {"intent": "delivery"})
    assert (conv.kind, conv.intent) == ("care", "delivery")
    assert sorted(changed) == ["intent", "kind"]
    changed = do_correct_triage(session, clock, conv, agent, {"kind": "engagement"})
    assert (conv.kind, conv.intent) == ("engagement", "other")
    labels = [(c.field, c.label) for c in corrections_of(session, conv.workspace_id)]
    assert ("kind", "care") in labels and ("intent", "other") in labels
