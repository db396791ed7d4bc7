"""Queries the routing stage needs: views for the pure decisions, queues, due timers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.conversations.sla import team_hours
from caredesk.models import (
    Agent,
    Conversation,
    Customer,
    Membership,
    Message,
    RoutingRule,
    SlaPolicy,
    Team,
    TeamMember,
)
from caredesk.models.conversation import OPEN_STATUSES
from caredesk.routing.agents import AgentView
from caredesk.routing.teams import RuleView, TeamView

# Pending/snoozed cases still belong to their owner and count against capacity.
LOAD_STATUSES = OPEN_STATUSES


def team_view(t: Team) -> TeamView:
    hours = None if not t.business_hours and not t.holidays else team_hours(t)
    if hours is not None and hours.is_always_open:
        hours = None
    return TeamView(
        t.id,
        t.name,
        t.kind,
        tuple(t.languages or ()),
        t.deleted_at is not None,
        hours,
        t.assignment_strategy or "least_loaded",
        t.escalation_policy,
    )


def team_views(session: Session, workspace_id: int) -> list[TeamView]:
    teams = session.execute(
        select(Team).where(Team.workspace_id == workspace_id).order_by(Team.id)
    ).scalars()
    return [team_view(t) for t in teams]


def rule_views(session: Session, workspace_id: int) -> list[RuleView]:
    rules = session.execute(
        select(RoutingRule)
        .where(RoutingRule.workspace_id == workspace_id)
        .order_by(RoutingRule.position, RoutingRule.id)
    ).scalars()
    return [
        RuleView(r.id, r.name, r.position, dict(r.condition), r.target_team_id, r.is_active)
        for r in rules
    ]


def open_counts(session: Session, agent_ids: Sequence[int]) -> dict[int, int]:
    if not agent_ids:
        return {}
    rows = session.execute(
        select(Conversation.assignee_id, func.count())
        .where(
            Conversation.assignee_id.in_(list(agent_ids)),
            Conversation.status.in_(LOAD_STATUSES),
        )
        .group_by(Conversation.assignee_id)
    )
    return {int(a): int(n) for a, n in rows if a is not None}


def _view(agent: Agent, count: int, *, member: bool, backup: bool) -> AgentView:
    return AgentView(
        agent.id,
        agent.name,
        agent.presence,
        tuple(agent.languages or ()),
        tuple(agent.channels or ()),
        agent.capacity,
        count,
        agent.is_active,
        member,
        backup,
    )


def team_agent_views(
    session: Session, team_id: int, *, also: Sequence[int] = ()
) -> list[AgentView]:
    """Members of the team (plus ``also``, e.g. a previous owner from another team)."""
    rows = list(
        session.execute(
            select(Agent, TeamMember.is_backup)
            .join(TeamMember, TeamMember.agent_id == Agent.id)
            .where(TeamMember.team_id == team_id)
            .order_by(Agent.id)
        )
    )
    members = {a.id for a, _ in rows}
    extra = [i for i in also if i not in members]
    extra_agents = (
        list(session.execute(select(Agent).where(Agent.id.in_(extra))).scalars()) if extra else []
    )
    counts = open_counts(session, [a.id for a, _ in rows] + [a.id for a in extra_agents])
    views = [_view(a, counts.get(a.id, 0), member=True, backup=b) for a, b in rows]
    views += [_view(a, counts.get(a.id, 0), member=False, backup=False) for a in extra_agents]
    return views


def agent_view(session: Session, agent: Agent) -> AgentView:
    return _view(
        agent, open_counts(session, [agent.id]).get(agent.id, 0), member=True, backup=False
    )


def is_member(session: Session, agent_id: int, workspace_id: int) -> bool:
    return (
        session.execute(
            select(Membership.id).where(
                Membership.agent_id == agent_id, Membership.workspace_id == workspace_id
            )
        ).first()
        is not None
    )


def previous_owner(session: Session, conversation: Conversation) -> int | None:
    """The agent who last owned a conversation of this customer (this one first)."""
    if conversation.assignee_id is not None:
        return conversation.assignee_id
    return session.execute(
        select(Conversation.assignee_id)
        .where(
            Conversation.customer_id == conversation.customer_id,
            Conversation.id != conversation.id,
            Conversation.assignee_id.is_not(None),
        )
        .order_by(Conversation.last_message_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def latest_inbound_text(session: Session, conversation_id: int) -> str:
    return (
        session.execute(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.direction == "in")
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        or ""
    )


def is_vip(session: Session, customer_id: int) -> bool:
    return bool(session.execute(select(Customer.vip).where(Customer.id == customer_id)).scalar())


def waiting_in_queue(session: Session, team_id: int, limit: int = 50) -> list[Conversation]:
    """Unassigned open conversations of a team, most urgent and oldest first."""
    return list(
        session.execute(
            select(Conversation)
            .where(
                Conversation.team_id == team_id,
                Conversation.assignee_id.is_(None),
                Conversation.status.in_(("new", "acknowledged", "gathering_info", "in_progress")),
                Conversation.kind != "noise",
            )
            .order_by(Conversation.sla_due_at.is_(None), Conversation.sla_due_at, Conversation.id)
            .limit(limit)
        ).scalars()
    )


def teams_with_waiting(session: Session) -> list[int]:
    return [
        team_id
        for team_id in session.execute(
            select(Conversation.team_id)
            .where(
                Conversation.team_id.is_not(None),
                Conversation.assignee_id.is_(None),
                Conversation.status.in_(("new", "acknowledged", "gathering_info", "in_progress")),
            )
            .distinct()
        ).scalars()
        if team_id is not None
    ]


def queue(
    session: Session,
    workspace_ids: Sequence[int],
    *,
    team_id: int | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    sort: str = "time_left",
    limit: int = 100,
) -> list[Conversation]:
    """Open conversations; ``time_left`` puts the nearest SLA due time first (none last)."""
    stmt = select(Conversation).where(
        Conversation.workspace_id.in_(list(workspace_ids)),
        Conversation.status.in_(OPEN_STATUSES),
    )
    if team_id is not None:
        stmt = stmt.where(Conversation.team_id == team_id)
    if assignee_id is not None:
        stmt = stmt.where(Conversation.assignee_id == assignee_id)
    if unassigned:
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    if sort == "time_left":
        stmt = stmt.order_by(
            Conversation.sla_due_at.is_(None), Conversation.sla_due_at, Conversation.id
        )
    else:
        stmt = stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    return list(session.execute(stmt.limit(max(1, min(limit, 500)))).scalars())


def due_timer_ids(
    session: Session, now: datetime, limit: int, *, skip_locked: bool = False
) -> list[int]:
    """Conversations whose timer is due, earliest first (index ix_conversations_timer_due)."""
    stmt = (
        select(Conversation.id)
        .where(Conversation.timer_due_at <= now)
        .order_by(Conversation.timer_due_at)
        .limit(limit)
    )
    if skip_locked:
        # Several sweepers on PostgreSQL split the work instead of queueing on row locks.
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.execute(stmt).scalars())


def clocked_without_reply_ids(
    session: Session, *, workspace_id: int | None, after_id: int, limit: int
) -> list[int]:
    """Conversations with an SLA due time although triage says nobody must answer (noise or
    no reply needed): left over from before clocks followed the reply need. By id, keyset."""
    stmt = select(Conversation.id).where(
        Conversation.id > after_id,
        Conversation.sla_due_at.is_not(None),
        (Conversation.kind == "noise") | Conversation.needs_reply.is_(False),
    )
    if workspace_id is not None:
        stmt = stmt.where(Conversation.workspace_id == workspace_id)
    return list(session.execute(stmt.order_by(Conversation.id).limit(limit)).scalars())


def conversations_by_ids(session: Session, ids: Sequence[int]) -> list[Conversation]:
    """Rows for ``ids``, in the given order (one query)."""
    if not ids:
        return []
    rows = {
        c.id: c
        for c in session.execute(select(Conversation).where(Conversation.id.in_(list(ids))))
        .scalars()
        .all()
    }
    return [rows[i] for i in ids if i in rows]


def rules_of(session: Session, workspace_id: int) -> list[RoutingRule]:
    return list(
        session.execute(
            select(RoutingRule)
            .where(RoutingRule.workspace_id == workspace_id)
            .order_by(RoutingRule.position, RoutingRule.id)
        ).scalars()
    )


def policies_of(session: Session, workspace_id: int) -> list[SlaPolicy]:
    return list(
        session.execute(
            select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id).order_by(SlaPolicy.id)
        ).scalars()
    )


def teams_by_ids(session: Session, ids: Collection[int]) -> list[Team]:
    if not ids:
        return []
    return list(session.execute(select(Team).where(Team.id.in_(list(ids)))).scalars())
