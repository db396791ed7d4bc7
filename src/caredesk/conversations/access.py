"""``access_*``: load a record and check the agent may see it (workspace scoping)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.kit.errors import Forbidden, NotFound
from caredesk.models import (
    Agent,
    Conversation,
    Customer,
    FollowUp,
    Membership,
    Team,
    Workspace,
)


def workspace_ids_of(session: Session, agent: Agent) -> tuple[int, ...]:
    return tuple(
        session.execute(
            select(Membership.workspace_id)
            .where(Membership.agent_id == agent.id)
            .order_by(Membership.workspace_id)
        ).scalars()
    )


def access_conversation(session: Session, agent: Agent, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    # Same answer for "missing" and "not yours": no probing of other workspaces' ids.
    if conversation is None or conversation.workspace_id not in workspace_ids_of(session, agent):
        raise NotFound("conversation not found")
    return conversation


def access_customer(session: Session, agent: Agent, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.workspace_id not in workspace_ids_of(session, agent):
        raise NotFound("customer not found")
    return customer


def role_in(session: Session, agent: Agent, workspace_id: int) -> str | None:
    return session.execute(
        select(Membership.role).where(
            Membership.agent_id == agent.id, Membership.workspace_id == workspace_id
        )
    ).scalar_one_or_none()


def access_workspace(
    session: Session, agent: Agent, workspace_id: int, *, manage: bool = False
) -> Workspace:
    """The workspace if ``agent`` is a member; ``manage`` needs a supervisor or admin role."""
    role = role_in(session, agent, workspace_id)
    workspace = session.get(Workspace, workspace_id)
    if role is None or workspace is None:
        raise NotFound("workspace not found")
    if manage and role not in ("supervisor", "admin"):
        raise Forbidden("only a supervisor or admin of this workspace can do that")
    return workspace


def access_team(session: Session, agent: Agent, team_id: int, *, manage: bool = False) -> Team:
    team = session.get(Team, team_id)
    if team is None or team.workspace_id not in workspace_ids_of(session, agent):
        raise NotFound("team not found")
    access_workspace(session, agent, team.workspace_id, manage=manage)
    return team


def access_follow_up(session: Session, agent: Agent, follow_up_id: int) -> FollowUp:
    follow_up = session.get(FollowUp, follow_up_id)
    if follow_up is None or follow_up.workspace_id not in workspace_ids_of(session, agent):
        raise NotFound("follow-up not found")
    return follow_up
