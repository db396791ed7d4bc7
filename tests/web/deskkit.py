"""Shared set-up for the agent desk's HTTP tests: a workspace, agents, conversations, sign-in."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from caredesk.conversations.agents import do_create_team
from caredesk.conversations.service import do_record_inbound
from caredesk.kit.clock import Clock
from caredesk.kit.passwords import hash_password
from caredesk.models import Agent, Conversation, Membership, TeamMember, Workspace
from tests import factories as f

_seq = itertools.count(1)


@dataclass
class Desk:
    ws: Workspace
    me: Agent
    colleague: Agent
    conversation: Conversation
    other_ws: Workspace
    foreign: Conversation


@cache
def _password_hash() -> str:
    # Hashing is deliberately slow (argon2); the desk tests need it once, not per agent.
    return hash_password(f.PASSWORD)


def agent(session: Session, clock: Clock, ws: Workspace, name: str) -> Agent:
    a = Agent(
        email=f"{name.lower()}.{next(_seq)}@example.com",
        name=f"{name} {next(_seq)}",
        password_hash=_password_hash(),
        role="agent",
        languages=["en"],
        channels=[],
        timezone="UTC",
        ui_language="en",
        capacity=8,
        presence="online",
        is_active=True,
        created_at=clock.now(),
    )
    session.add(a)
    session.flush()
    session.add(Membership(agent_id=a.id, workspace_id=ws.id, role="agent"))
    session.flush()
    return a


def build(session: Session, clock: Clock) -> Desk:
    ws = f.workspace(session, clock)
    me = agent(session, clock, ws, "Amira")
    colleague = agent(session, clock, ws, "Jonas")
    team = do_create_team(session, clock, ws, "Care desk", "care")
    session.add(TeamMember(team_id=team.id, agent_id=me.id))
    session.add(TeamMember(team_id=team.id, agent_id=colleague.id))
    out = do_record_inbound(
        session, clock, ws, f.post("My router died again, please help", author="cust-1"),
        account_id=None, triage=f.triage(),
    )  # fmt: skip
    out.conversation.team_id = team.id
    other_ws = f.workspace(session, clock)
    foreign = do_record_inbound(
        session, clock, other_ws, f.post("Secret of another brand", author="cust-9"),
        account_id=None, triage=f.triage(),
    ).conversation  # fmt: skip
    session.commit()
    return Desk(ws, me, colleague, out.conversation, other_ws, foreign)


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def login(client: TestClient, agent: Agent) -> str:
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"email": agent.email, "password": f.PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/inbox").text)
