"""Routing writes: apply the pure decisions (teams.route, agents.choose_agent) and record why.

Ownership changes use a compare-and-set on ``conversations.version`` so two workers (or two
supervisors) assigning the same conversation at once end with one owner: the loser's UPDATE
matches no row and it gets a Conflict (a worker just moves on).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from caredesk.conversations import sla
from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, NotFound, ValidationFailed
from caredesk.models import Agent, Conversation, Membership, Team
from caredesk.routing import repository as repo
from caredesk.routing.agents import AgentView, AssignInput, choose_agent, problems
from caredesk.routing.teams import RouteInput, TeamDecision, route

_ASSIGNABLE = ("new", "acknowledged", "gathering_info", "in_progress", "pending", "snoozed")


@dataclass(frozen=True)
class RouteOutcome:
    team: TeamDecision | None
    assignee_id: int | None
    reasons: tuple[str, ...]


def _actor(agent: Agent | None) -> dict[str, Any]:
    return {
        "actor_kind": "agent" if agent else "system",
        "actor_agent_id": agent.id if agent else None,
    }


def _set_owner(session: Session, conversation: Conversation, agent_id: int | None) -> None:
    """Compare-and-set the owner; Conflict if someone changed it since we loaded the row."""
    expected = conversation.version
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.version == expected)
        .values(assignee_id=agent_id, version=expected + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.expire(conversation, ["assignee_id", "version"])
        raise Conflict(
            "someone else changed the owner of this conversation at the same moment; "
            "reload it and try again"
        )
    set_committed_value(conversation, "assignee_id", agent_id)
    set_committed_value(conversation, "version", expected + 1)


def _live_team(session: Session, conversation: Conversation, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or team.workspace_id != conversation.workspace_id:
        raise NotFound(f"team {team_id} not found in this workspace")
    if team.deleted_at is not None:
        raise Conflict(f"team {team.name} has been deleted; choose another team")
    return team


def do_route(
    session: Session, clock: Clock, conversation: Conversation, *, live: bool = True
) -> RouteOutcome:
    """Put the conversation in a team's queue (rules, kind, language, follow the sun), attach
    its SLA policy and, for live traffic, try to give it an owner."""
    now = clock.now()
    decision: TeamDecision | None = None
    current = session.get(Team, conversation.team_id) if conversation.team_id else None
    if current is None or current.deleted_at is not None:
        decision = route(
            RouteInput(
                kind=conversation.kind,
                language=conversation.language,
                channel=conversation.channel,
                priority=conversation.priority,
                text=repo.latest_inbound_text(session, conversation.id),
                vip=repo.is_vip(session, conversation.customer_id),
            ),
            repo.team_views(session, conversation.workspace_id),
            repo.rule_views(session, conversation.workspace_id),
            now,
        )
        if decision.team_id is None:
            return RouteOutcome(decision, conversation.assignee_id, decision.reasons)
        previous = conversation.team_id
        conversation.team_id = decision.team_id
        payload: dict[str, Any] = {
            "from_team_id": previous,
            "to_team_id": decision.team_id,
            "reasons": list(decision.reasons),
        }
        if decision.handed_over_from is not None:
            payload["follow_the_sun_from"] = decision.handed_over_from
        if decision.waits_until is not None:
            payload["waits_until"] = decision.waits_until.isoformat()
        record(
            session,
            clock,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            name=E.TRANSFERRED,
            payload=payload,
            live=live,
        )
    if not live:
        # Imported history: no clocks (they would all breach at once) and no owners.
        return RouteOutcome(
            decision, conversation.assignee_id, decision.reasons if decision else ()
        )
    sla.do_apply_sla(session, clock, conversation)
    reasons = decision.reasons if decision else ()
    if (
        conversation.assignee_id is None
        and conversation.kind != "noise"
        and conversation.status in _ASSIGNABLE
    ):
        got = do_auto_assign(session, clock, conversation, record_queue=True)
        return RouteOutcome(decision, got, reasons)
    return RouteOutcome(decision, conversation.assignee_id, reasons)


def do_auto_assign(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    *,
    exclude: Collection[int] = (),
    record_queue: bool = False,
    loads: dict[int, list[AgentView]] | None = None,
) -> int | None:
    """Give the conversation to the best available agent of its team, or leave it queued.

    ``loads`` (team id -> agent views) lets a batch (draining a queue) read the team's agents
    and their open counts once and keep them current in memory instead of re-counting every
    open conversation of the team for each assignment."""
    if conversation.team_id is None:
        return None
    team = session.get(Team, conversation.team_id)
    if team is None or team.deleted_at is not None:
        return None
    sticky = repo.previous_owner(session, conversation)
    cached = loads.get(team.id) if loads is not None else None
    if cached is None or (sticky is not None and all(a.id != sticky for a in cached)):
        agents = repo.team_agent_views(session, team.id, also=[sticky] if sticky else [])
        if loads is not None:
            loads[team.id] = agents
    else:
        agents = cached
    decision = choose_agent(
        AssignInput(
            language=conversation.language,
            channel=conversation.channel,
            strategy=team.assignment_strategy or "least_loaded",
            sticky_agent_id=sticky,
            rr_last_agent_id=team.rr_last_agent_id,
            exclude=exclude,
        ),
        agents,
    )
    if decision.agent_id is None:
        if record_queue:
            record(
                session,
                clock,
                workspace_id=conversation.workspace_id,
                conversation_id=conversation.id,
                name=E.QUEUED,
                payload={"team_id": team.id, "reasons": list(decision.reasons)},
            )
        return None
    previous = conversation.assignee_id
    try:
        _set_owner(session, conversation, decision.agent_id)
    except Conflict:
        return None  # another worker got there first; its owner stands
    if loads is not None and team.id in loads:
        loads[team.id] = [
            replace(a, open_count=a.open_count + 1) if a.id == decision.agent_id else a
            for a in loads[team.id]
        ]
    if team.assignment_strategy == "round_robin":
        team.rr_last_agent_id = decision.agent_id
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.ASSIGNED,
        payload={
            "from_agent_id": previous,
            "to_agent_id": decision.agent_id,
            "team_id": team.id,
            "reasons": list(decision.reasons),
            "by": "routing",
        },
    )
    return decision.agent_id


def _workspace_agent(session: Session, conversation: Conversation, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None or not repo.is_member(session, agent_id, conversation.workspace_id):
        raise ValidationFailed(f"agent {agent_id} is not a member of this workspace")
    return agent


def do_assign(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent_id: int,
    *,
    actor: Agent | None,
    override: bool = False,
    reason: str | None = None,
) -> Conversation:
    """Manual assignment. Offline, unskilled or full agents are refused unless ``override``."""
    if conversation.status not in _ASSIGNABLE:
        raise Conflict(f"the conversation is {conversation.status}; reopen it before assigning")
    target = _workspace_agent(session, conversation, agent_id)
    if conversation.assignee_id == agent_id:
        return conversation
    why_not = problems(
        repo.agent_view(session, target), conversation.language, conversation.channel
    )
    if why_not and not override:
        raise Conflict(
            f"cannot assign to {target.name}: {'; '.join(why_not)}. "
            "Assign with override to do it anyway."
        )
    previous = conversation.assignee_id
    _set_owner(session, conversation, agent_id)
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.ASSIGNED,
        payload={
            "from_agent_id": previous,
            "to_agent_id": agent_id,
            "team_id": conversation.team_id,
            "override": bool(why_not) and override,
            "overridden": why_not if override else [],
            "reasons": [reason[:500]] if reason else ["assigned by hand"],
            "by": "agent" if actor else "system",
        },
        **_actor(actor),
    )
    return conversation


def do_unassign(
    session: Session, clock: Clock, conversation: Conversation, *, actor: Agent | None
) -> Conversation:
    if conversation.assignee_id is None:
        return conversation
    previous = conversation.assignee_id
    _set_owner(session, conversation, None)
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.UNASSIGNED,
        payload={"from_agent_id": previous, "team_id": conversation.team_id},
        **_actor(actor),
    )
    return conversation


def do_transfer(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    *,
    actor: Agent | None,
    team_id: int | None = None,
    agent_id: int | None = None,
    override: bool = False,
    reason: str | None = None,
) -> Conversation:
    """Move to another team and/or agent. The conversation, its messages, notes and events
    stay as they are: the history travels with it."""
    if team_id is None and agent_id is None:
        raise ValidationFailed("a transfer needs a team, an agent or both")
    if conversation.status not in _ASSIGNABLE:
        raise Conflict(f"the conversation is {conversation.status}; reopen it before transferring")
    from_team, from_agent = conversation.team_id, conversation.assignee_id
    if team_id is not None and team_id != conversation.team_id:
        _live_team(session, conversation, team_id)
        conversation.team_id = team_id
    if agent_id is not None:
        do_assign(
            session, clock, conversation, agent_id, actor=actor, override=override, reason=reason
        )
    elif team_id is not None and team_id != from_team and conversation.assignee_id is not None:
        _set_owner(session, conversation, None)
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.TRANSFERRED,
        payload={
            "from_team_id": from_team,
            "to_team_id": conversation.team_id,
            "from_agent_id": from_agent,
            "to_agent_id": conversation.assignee_id,
            "reasons": [reason[:500]] if reason else ["transferred by hand"],
        },
        **_actor(actor),
    )
    if conversation.team_id != from_team:
        sla.do_apply_sla(session, clock, conversation)
    if conversation.assignee_id is None and conversation.kind != "noise":
        do_auto_assign(session, clock, conversation, exclude=[from_agent] if from_agent else [])
    return conversation


def supervisors_of(session: Session, workspace_id: int) -> list[int]:
    return list(
        session.execute(
            select(Membership.agent_id)
            .where(
                Membership.workspace_id == workspace_id,
                Membership.role.in_(("supervisor", "admin")),
            )
            .order_by(Membership.agent_id)
        ).scalars()
    )


def do_escalate(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    *,
    target: str,
    supervisors: dict[int, list[int]] | None = None,
) -> str:
    """The owner missed an SLA: reassign or flag the supervisors, per the team's policy."""
    owner = conversation.assignee_id
    if owner is None:
        return "none"
    team = session.get(Team, conversation.team_id) if conversation.team_id else None
    policy = team.escalation_policy if team else "flag_supervisor"
    now = clock.now()
    payload: dict[str, Any] = {"target": target, "policy": policy, "from_agent_id": owner}
    outcome = "flagged"
    if policy == "reassign":
        new_owner = do_auto_assign(session, clock, conversation, exclude=[owner])
        if new_owner is not None:
            payload["to_agent_id"] = new_owner
            outcome = "reassigned"
        else:
            payload["note"] = "nobody else available; flagged to the supervisors instead"
    if outcome == "flagged":
        conversation.escalated_at = now
        # A sweep pass shares ``supervisors`` (workspace -> ids) instead of asking per row.
        ws_id = conversation.workspace_id
        if supervisors is None:
            payload["supervisor_ids"] = supervisors_of(session, ws_id)
        else:
            if ws_id not in supervisors:
                supervisors[ws_id] = supervisors_of(session, ws_id)
            payload["supervisor_ids"] = supervisors[ws_id]
    payload["outcome"] = outcome
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.ESCALATED,
        payload=payload,
    )
    return outcome


def do_drain_queue(session: Session, clock: Clock, team_id: int, *, limit: int = 50) -> int:
    """Hand waiting conversations of a team to agents who now have room (came online, freed
    capacity), nearest SLA due time first. Loads are read once for the batch."""
    assigned = 0
    loads: dict[int, list[AgentView]] = {}
    # Holding the team keeps it in the (weak) identity map: no reload per conversation.
    team = session.get(Team, team_id)
    if team is None or team.deleted_at is not None:
        return 0
    with session.no_autoflush:  # events go out in one flush, not before every lookup
        for conversation in repo.waiting_in_queue(session, team_id, limit):
            if do_auto_assign(session, clock, conversation, loads=loads) is not None:
                assigned += 1
    session.flush()
    return assigned
