"""JSON API for admin resources no other router serves: workspace settings, the team and
agent lists, creating a team.

Same rules as the admin pages (``web.admin_kit``, which this layer may not import): supervisors
read, admins change; other workspaces are 404. Writes need the session's CSRF token in
``X-CSRF-Token``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.conversations.access import role_in
from caredesk.conversations.agents import do_create_team
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.kit.errors import Conflict, Forbidden, NotFound
from caredesk.listening.service import brand_settings
from caredesk.models import Agent, Membership, Team, Workspace
from caredesk.routing.admin import do_update_team

router = APIRouter(prefix="/api/v1/workspaces/{workspace_id}", tags=["admin"])


class WorkspaceIO(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    timezone: str = Field(max_length=64)
    default_language: str = Field(max_length=12)
    languages: list[str] = Field(default_factory=list, max_length=50)


class WorkspaceOut(WorkspaceIO):
    id: int
    reference_prefix: str
    brand_terms: list[str]
    brand_handles: list[str]


class TeamOut(BaseModel):
    id: int
    name: str
    kind: str
    timezone: str
    business_hours: dict[str, Any]
    holidays: list[str]
    languages: list[str]
    assignment_strategy: str
    escalation_policy: str
    created_at: datetime


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    kind: str = Field(default="care", max_length=20)
    timezone: str | None = Field(default=None, max_length=64)
    business_hours: dict[str, Any] = Field(default_factory=dict)
    holidays: list[str] = Field(default_factory=list, max_length=400)
    languages: list[str] = Field(default_factory=list, max_length=50)


class AgentOut(BaseModel):
    id: int
    name: str
    email: str
    role: str
    languages: list[str]
    channels: list[str]
    capacity: int
    timezone: str
    presence: str
    is_active: bool


def scope(session: Session, agent: Agent, workspace_id: int, *, manage: bool) -> Workspace:
    """The workspace if ``agent`` is its supervisor/admin (``manage``: its admin)."""
    role = role_in(session, agent, workspace_id)
    workspace = session.get(Workspace, workspace_id)
    if role is None or workspace is None:
        raise NotFound("workspace not found")
    if role not in (("admin",) if manage else ("supervisor", "admin")):
        raise Forbidden("only an admin of this workspace can do that")
    return workspace


def _check_csrf(request: Request, ws: WebSession) -> None:
    if not secrets.compare_digest(ws.csrf, request.headers.get("x-csrf-token") or ""):
        raise Forbidden("missing or wrong X-CSRF-Token header")


def _workspace_out(w: Workspace) -> WorkspaceOut:
    brand = brand_settings(w)
    return WorkspaceOut(
        id=w.id,
        name=w.name,
        timezone=w.timezone,
        default_language=w.default_language,
        languages=list(w.settings.get("languages") or [w.default_language]),
        reference_prefix=w.reference_prefix,
        brand_terms=brand["brand_terms"],
        brand_handles=brand["brand_handles"],
    )


@router.get("/settings", response_model=WorkspaceOut)
def get_settings(
    workspace_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> WorkspaceOut:
    return _workspace_out(scope(session, agent, workspace_id, manage=False))


@router.get("/teams", response_model=list[TeamOut])
def list_teams(
    workspace_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[TeamOut]:
    scope(session, agent, workspace_id, manage=False)
    teams = session.execute(
        select(Team)
        .where(Team.workspace_id == workspace_id, Team.deleted_at.is_(None))
        .order_by(Team.name)
    ).scalars()
    return [TeamOut.model_validate(t, from_attributes=True) for t in teams]


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(
    workspace_id: int, body: TeamIn, request: Request, ws: WebSession = Depends(web_session)
) -> TeamOut:
    _check_csrf(request, ws)
    clock = runtime(request).clock

    def go(session: Session, agent: Agent) -> TeamOut:
        w = scope(session, agent, workspace_id, manage=True)
        taken = session.execute(
            select(Team.id).where(Team.workspace_id == w.id, Team.name == body.name.strip())
        ).first()
        if taken:
            raise Conflict(f"a team called {body.name.strip()!r} already exists")
        team = do_create_team(session, clock, w, body.name.strip(), body.kind)
        changes = {
            "timezone": body.timezone or w.timezone,
            "business_hours": body.business_hours,
            "holidays": body.holidays,
            "languages": body.languages,
        }
        do_update_team(session, clock, team, agent=agent, changes=changes)
        return TeamOut.model_validate(team, from_attributes=True)

    return write_as_agent(request, ws, go)


@router.get("/agents", response_model=list[AgentOut])
def list_agents(
    workspace_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[AgentOut]:
    scope(session, agent, workspace_id, manage=False)
    rows = session.execute(
        select(Agent, Membership.role)
        .join(Membership, Membership.agent_id == Agent.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(Agent.name)
    ).all()
    return [AgentOut.model_validate({**_agent_fields(a), "role": role}) for a, role in rows]


def _agent_fields(a: Agent) -> dict[str, Any]:
    return {k: getattr(a, k) for k in AgentOut.model_fields if k != "role"}
