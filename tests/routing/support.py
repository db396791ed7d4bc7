"""Shared set-up for conversation and routing tests: a workspace with a care team, agents and
an SLA policy, a helper to bring in a customer's post the way the pipeline does, and a count
of a conversation's events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.conversations.service import TriageView, do_record_inbound
from caredesk.events import E
from caredesk.kit.clock import FrozenClock
from caredesk.models import Agent, Conversation, Event, Team, TeamMember, Workspace
from caredesk.routing.admin import do_save_sla_policy
from caredesk.routing.service import do_route
from tests import factories as f


@dataclass
class Desk:
    ws: Workspace
    team: Team
    agents: list[Agent]


def desk(
    session: Session,
    clock: FrozenClock,
    *,
    agents: int = 2,
    presence: str = "online",
    first_response: int | None = 60,
    next_response: int | None = 120,
    resolution: int | None = 24 * 60,
    auto_ack: int | None = None,
    kind: str = "care",
) -> Desk:
    ws = f.workspace(session, clock)
    team = f.team(session, clock, ws, kind)
    people = []
    for _ in range(agents):
        a = f.agent(session, clock, ws)
        a.presence = presence
        session.add(TeamMember(team_id=team.id, agent_id=a.id, is_backup=False))
        people.append(a)
    session.flush()
    if first_response is not None:
        do_save_sla_policy(
            session,
            clock,
            ws.id,
            agent=None,
            team_id=team.id,
            priority=None,
            first_response_minutes=first_response,
            next_response_minutes=next_response,
            resolution_minutes=resolution,
            auto_ack_minutes=auto_ack,
        )
    return Desk(ws, team, people)


def save_team_policy(
    session: Session,
    clock: FrozenClock,
    d: Desk,
    *,
    first_response: int,
    priority: str | None = None,
    business_hours: bool = False,
) -> None:
    """Another policy for the desk's team (one priority only), or with priority None a
    replacement of the one ``desk`` saved, with first response as the only target."""
    do_save_sla_policy(
        session,
        clock,
        d.ws.id,
        agent=None,
        team_id=d.team.id,
        priority=priority,
        first_response_minutes=first_response,
        business_hours=business_hours,
    )


def inbound(
    session: Session,
    clock: FrozenClock,
    ws: Workspace,
    text: str = "My router died again, please help",
    *,
    author: str = "u1",
    at: datetime | None = None,
    channel: str = "generic",
    kind: str = "care",
    priority: str = "normal",
    language: str = "en",
    in_reply_to: str | None = None,
    route: bool = True,
    triage: TriageView | None = None,
    imported: bool = False,
) -> Conversation:
    """``triage`` replaces the one built from kind/priority/language; ``imported`` brings the
    post in as history (routed as not live, so no clocks)."""
    outcome = do_record_inbound(
        session,
        clock,
        ws,
        f.post(text, author=author, at=at or clock.now(), channel=channel, in_reply_to=in_reply_to),
        account_id=None,
        triage=triage if triage is not None else f.triage(kind, priority, language),
        imported=imported,
    )
    if route:
        do_route(session, clock, outcome.conversation, live=not imported)
    session.flush()
    return outcome.conversation


def count_events(session: Session, name: E, conversation_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(Event)
        .where(Event.conversation_id == conversation_id, Event.name == str(name))
    ).scalar_one()
