"""JSON API for routing: queues by time left, assignment, transfers, presence, team settings,
routing rules and SLA policies. Thin: parse, check access, call one ``do_*``, serialise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.conversations import sla
from caredesk.conversations.access import (
    access_conversation,
    access_team,
    access_workspace,
    workspace_ids_of,
)
from caredesk.conversations.sla_scope import sla_status
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.kit.errors import NotFound
from caredesk.models import Agent, Conversation, SlaPolicy, Team
from caredesk.routing import admin
from caredesk.routing import repository as repo
from caredesk.routing.service import do_assign, do_transfer, do_unassign

router = APIRouter(prefix="/api/v1", tags=["routing"])


class QueueItem(BaseModel):
    id: int
    reference: str
    status: str
    priority: str
    channel: str
    team_id: int | None
    assignee_id: int | None
    sla_due_at: datetime | None
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    time_left_s: float | None
    escalated_at: datetime | None
    # running | paused | met | none | no_reply_needed (then sla_reason says why)
    sla_status: str
    sla_reason: str | None

    @classmethod
    def of(cls, c: Conversation, now: datetime) -> QueueItem:
        status, reason = sla_status(c)
        return cls(
            id=c.id,
            reference=c.reference,
            status=c.status,
            priority=c.priority,
            channel=c.channel,
            team_id=c.team_id,
            assignee_id=c.assignee_id,
            sla_due_at=c.sla_due_at,
            first_response_due_at=c.first_response_due_at,
            next_response_due_at=c.next_response_due_at,
            resolution_due_at=c.resolution_due_at,
            time_left_s=sla.time_left(c, now),
            escalated_at=c.escalated_at,
            sla_status=status,
            sla_reason=reason,
        )


class OwnerOut(BaseModel):
    id: int
    team_id: int | None
    assignee_id: int | None
    version: int


class AssignIn(BaseModel):
    agent_id: int
    override: bool = False
    reason: str | None = Field(default=None, max_length=500)


class TransferIn(BaseModel):
    team_id: int | None = None
    agent_id: int | None = None
    override: bool = False
    reason: str | None = Field(default=None, max_length=500)


class PresenceIn(BaseModel):
    presence: str = Field(pattern="^(online|away|offline)$")


class SkillsIn(BaseModel):
    languages: list[str] | None = None
    channels: list[str] | None = None
    capacity: int | None = None


class TeamIn(BaseModel):
    business_hours: dict[str, Any] | None = None
    timezone: str | None = None
    holidays: list[str] | None = None
    languages: list[str] | None = None
    assignment_strategy: str | None = None
    escalation_policy: str | None = None


class TeamOut(BaseModel):
    id: int
    name: str
    kind: str
    timezone: str
    business_hours: dict[str, Any]
    holidays: list[Any]
    languages: list[Any]
    assignment_strategy: str
    escalation_policy: str
    deleted_at: datetime | None

    @classmethod
    def of(cls, t: Team) -> TeamOut:
        return cls.model_validate(t, from_attributes=True)


class MemberIn(BaseModel):
    backup: bool = False


class RuleIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    condition: dict[str, Any]
    target_team_id: int
    position: int = 0
    active: bool = True


class RuleOut(BaseModel):
    id: int
    name: str
    position: int
    condition: dict[str, Any]
    target_team_id: int
    is_active: bool


class PolicyIn(BaseModel):
    team_id: int | None = None
    priority: str | None = None
    channel: str | None = None
    first_response_minutes: int
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    business_hours: bool = False
    near_breach_ratio: float = 0.8
    auto_ack_minutes: int | None = None


class PolicyOut(PolicyIn):
    id: int


def _owner(c: Conversation) -> OwnerOut:
    return OwnerOut(id=c.id, team_id=c.team_id, assignee_id=c.assignee_id, version=c.version)


@router.get("/queue", response_model=list[QueueItem])
def get_queue(
    request: Request,
    team_id: int | None = Query(None),
    mine: bool = Query(False),
    unassigned: bool = Query(False),
    sort: str = Query("time_left", pattern="^(time_left|recent)$"),
    limit: int = Query(100, ge=1, le=500),
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> list[QueueItem]:
    """Open conversations; ``sort=time_left`` puts the nearest SLA due time first."""
    if team_id is not None:
        access_team(session, agent, team_id)
    rows = repo.queue(
        session,
        workspace_ids_of(session, agent),
        team_id=team_id,
        assignee_id=agent.id if mine else None,
        unassigned=unassigned,
        sort=sort,
        limit=limit,
    )
    now = runtime(request).clock.now()
    return [QueueItem.of(c, now) for c in rows]


@router.post("/conversations/{conversation_id}/assign", response_model=OwnerOut)
def post_assign(
    conversation_id: int, body: AssignIn, request: Request, ws: WebSession = Depends(web_session)
) -> OwnerOut:
    def go(session: Session, me: Agent) -> OwnerOut:
        c = access_conversation(session, me, conversation_id)
        do_assign(
            session,
            runtime(request).clock,
            c,
            body.agent_id,
            actor=me,
            override=body.override,
            reason=body.reason,
        )
        return _owner(c)

    return write_as_agent(request, ws, go)


@router.post("/conversations/{conversation_id}/unassign", response_model=OwnerOut)
def post_unassign(
    conversation_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> OwnerOut:
    def go(session: Session, me: Agent) -> OwnerOut:
        c = access_conversation(session, me, conversation_id)
        do_unassign(session, runtime(request).clock, c, actor=me)
        return _owner(c)

    return write_as_agent(request, ws, go)


@router.post("/conversations/{conversation_id}/transfer", response_model=OwnerOut)
def post_transfer(
    conversation_id: int, body: TransferIn, request: Request, ws: WebSession = Depends(web_session)
) -> OwnerOut:
    def go(session: Session, me: Agent) -> OwnerOut:
        c = access_conversation(session, me, conversation_id)
        do_transfer(
            session,
            runtime(request).clock,
            c,
            actor=me,
            team_id=body.team_id,
            agent_id=body.agent_id,
            override=body.override,
            reason=body.reason,
        )
        return _owner(c)

    return write_as_agent(request, ws, go)


@router.post("/workspaces/{workspace_id}/presence")
def post_presence(
    workspace_id: int, body: PresenceIn, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, str]:
    def go(session: Session, me: Agent) -> dict[str, str]:
        access_workspace(session, me, workspace_id)
        admin.do_set_presence(
            session, runtime(request).clock, me, body.presence, workspace_id=workspace_id
        )
        return {"presence": me.presence}

    return write_as_agent(request, ws, go)


@router.patch("/workspaces/{workspace_id}/agents/{agent_id}/skills")
def patch_skills(
    workspace_id: int,
    agent_id: int,
    body: SkillsIn,
    request: Request,
    ws: WebSession = Depends(web_session),
) -> dict[str, Any]:
    def go(session: Session, me: Agent) -> dict[str, Any]:
        access_workspace(session, me, workspace_id, manage=me.id != agent_id)
        target = session.get(Agent, agent_id)
        if target is None or not repo.is_member(session, agent_id, workspace_id):
            raise NotFound("agent not found")
        admin.do_set_skills(
            session,
            runtime(request).clock,
            target,
            agent=me,
            languages=body.languages,
            channels=body.channels,
            capacity=body.capacity,
        )
        return {
            "languages": target.languages,
            "channels": target.channels,
            "capacity": target.capacity,
        }

    return write_as_agent(request, ws, go)


@router.patch("/teams/{team_id}", response_model=TeamOut)
def patch_team(
    team_id: int, body: TeamIn, request: Request, ws: WebSession = Depends(web_session)
) -> TeamOut:
    def go(session: Session, me: Agent) -> TeamOut:
        team = access_team(session, me, team_id, manage=True)
        changes = body.model_dump(exclude_unset=True)
        admin.do_update_team(session, runtime(request).clock, team, agent=me, changes=changes)
        return TeamOut.of(team)

    return write_as_agent(request, ws, go)


@router.delete("/teams/{team_id}", status_code=204)
def delete_team(team_id: int, request: Request, ws: WebSession = Depends(web_session)) -> Response:
    def go(session: Session, me: Agent) -> None:
        team = access_team(session, me, team_id, manage=True)
        admin.do_delete_team(session, runtime(request).clock, team, agent=me)

    write_as_agent(request, ws, go)
    return Response(status_code=204)


@router.put("/teams/{team_id}/members/{agent_id}", status_code=204)
def put_member(
    team_id: int,
    agent_id: int,
    body: MemberIn,
    request: Request,
    ws: WebSession = Depends(web_session),
) -> Response:
    return _set_member(request, ws, team_id, agent_id, present=True, backup=body.backup)


@router.delete("/teams/{team_id}/members/{agent_id}", status_code=204)
def delete_member(
    team_id: int, agent_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> Response:
    return _set_member(request, ws, team_id, agent_id, present=False, backup=False)


def _set_member(
    request: Request, ws: WebSession, team_id: int, agent_id: int, *, present: bool, backup: bool
) -> Response:
    def go(session: Session, me: Agent) -> None:
        team = access_team(session, me, team_id, manage=True)
        member = session.get(Agent, agent_id)
        if member is None:
            raise NotFound("agent not found")
        admin.do_set_team_member(
            session, runtime(request).clock, team, member, agent=me, backup=backup, present=present
        )

    write_as_agent(request, ws, go)
    return Response(status_code=204)


@router.post("/workspaces/{workspace_id}/routing-rules", response_model=RuleOut, status_code=201)
def post_rule(
    workspace_id: int, body: RuleIn, request: Request, ws: WebSession = Depends(web_session)
) -> RuleOut:
    def go(session: Session, me: Agent) -> RuleOut:
        access_workspace(session, me, workspace_id, manage=True)
        rule = admin.do_save_rule(
            session,
            runtime(request).clock,
            workspace_id,
            agent=me,
            name=body.name,
            condition=body.condition,
            target_team_id=body.target_team_id,
            position=body.position,
            active=body.active,
        )
        return RuleOut.model_validate(rule, from_attributes=True)

    return write_as_agent(request, ws, go)


@router.get("/workspaces/{workspace_id}/routing-rules", response_model=list[RuleOut])
def list_rules(
    workspace_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[RuleOut]:
    access_workspace(session, agent, workspace_id)
    rows = repo.rules_of(session, workspace_id)
    return [RuleOut.model_validate(r, from_attributes=True) for r in rows]


@router.put("/workspaces/{workspace_id}/sla-policies", response_model=PolicyOut)
def put_policy(
    workspace_id: int, body: PolicyIn, request: Request, ws: WebSession = Depends(web_session)
) -> PolicyOut:
    """Create or replace the policy for (team, priority, channel)."""

    def go(session: Session, me: Agent) -> PolicyOut:
        access_workspace(session, me, workspace_id, manage=True)
        policy = admin.do_save_sla_policy(
            session, runtime(request).clock, workspace_id, agent=me, **body.model_dump()
        )
        return _policy_out(policy)

    return write_as_agent(request, ws, go)


@router.get("/workspaces/{workspace_id}/sla-policies", response_model=list[PolicyOut])
def list_policies(
    workspace_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[PolicyOut]:
    access_workspace(session, agent, workspace_id)
    return [_policy_out(p) for p in repo.policies_of(session, workspace_id)]


def _policy_out(p: SlaPolicy) -> PolicyOut:
    return PolicyOut.model_validate(p, from_attributes=True)
