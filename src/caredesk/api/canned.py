"""JSON API for canned responses: the library per workspace and team, live template checks,
the starter set, and inserting one into the composer (customer's language, use counted)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.api.replies import write_or_problems
from caredesk.conversations.access import access_conversation, access_team, access_workspace
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.kit.errors import ValidationFailed
from caredesk.models import Agent, CannedResponse
from caredesk.replies import canned as canned_svc

router = APIRouter(prefix="/api/v1", tags=["canned"])


def canned_dict(c: CannedResponse, variants: dict[str, str]) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "shortcut": c.shortcut,
        "team_id": c.team_id,
        "tags": [t for t in c.tags if not t.startswith("starter:")],
        "usage_count": c.usage_count,
        "variants": variants,
    }


# --------------------------------------------------------------------------- canned responses


class CannedIn(BaseModel):
    name: str = Field(max_length=200)
    shortcut: str = Field(max_length=60)
    variants: dict[str, str]
    team_id: int | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)


class TemplateCheckIn(BaseModel):
    variants: dict[str, str]


@router.get("/workspaces/{workspace_id}/canned")
def list_canned(
    workspace_id: int,
    team_id: int | None = None,
    all_teams: bool = False,
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> list[dict[str, Any]]:
    access_workspace(session, agent, workspace_id)
    items = canned_svc.library(session, workspace_id, team_id, all_teams=all_teams)
    variants = canned_svc.variants_of(session, [c.id for c in items])
    return [canned_dict(c, variants[c.id]) for c in items]


@router.post("/workspaces/{workspace_id}/canned/check")
def check_canned(
    workspace_id: int,
    body: TemplateCheckIn,
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> dict[str, Any]:
    """Check templates live while the editor types; nothing is saved."""
    access_workspace(session, agent, workspace_id)
    problems = canned_svc.check_variants(session, workspace_id, body.variants)
    return {"problems": [p.to_dict(body.variants.get(p.language or "")) for p in problems]}


def _save_canned(
    request: Request, ws: WebSession, workspace_id: int, body: CannedIn, canned_id: int | None
) -> JSONResponse:
    def go(session: Session, agent: Agent) -> dict[str, Any]:
        workspace = access_workspace(session, agent, workspace_id, manage=True)
        if body.team_id is not None and access_team(session, agent, body.team_id).workspace_id != (
            workspace_id
        ):
            raise ValidationFailed("team_id belongs to another workspace")
        canned = canned_svc.do_save_canned(
            session,
            runtime(request).clock,
            workspace,
            name=body.name,
            shortcut=body.shortcut,
            variants=body.variants,
            team_id=body.team_id,
            tags=body.tags,
            canned_id=canned_id,
            actor=agent,
        )
        return canned_dict(canned, canned_svc.variants_of(session, [canned.id])[canned.id])

    return write_or_problems(request, ws, go, status_code=201 if canned_id is None else 200)


@router.post("/workspaces/{workspace_id}/canned", status_code=201)
def create_canned(
    workspace_id: int, body: CannedIn, request: Request, ws: WebSession = Depends(web_session)
) -> JSONResponse:
    return _save_canned(request, ws, workspace_id, body, None)


@router.put("/workspaces/{workspace_id}/canned/{canned_id}")
def update_canned(
    workspace_id: int,
    canned_id: int,
    body: CannedIn,
    request: Request,
    ws: WebSession = Depends(web_session),
) -> JSONResponse:
    return _save_canned(request, ws, workspace_id, body, canned_id)


@router.delete("/workspaces/{workspace_id}/canned/{canned_id}", status_code=204)
def delete_canned(
    workspace_id: int, canned_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> None:
    def go(session: Session, agent: Agent) -> None:
        access_workspace(session, agent, workspace_id, manage=True)
        canned_svc.do_delete_canned(session, runtime(request).clock, workspace_id, canned_id, agent)

    write_as_agent(request, ws, go)


@router.post("/workspaces/{workspace_id}/canned/starter")
def install_starter(
    workspace_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    def go(session: Session, agent: Agent) -> dict[str, Any]:
        workspace = access_workspace(session, agent, workspace_id, manage=True)
        return {
            "added": canned_svc.do_install_starter_set(session, runtime(request).clock, workspace)
        }

    return write_as_agent(request, ws, go)


class InsertIn(BaseModel):
    shortcut: str | None = Field(default=None, max_length=60)
    canned_id: int | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


@router.get("/conversations/{conversation_id}/canned")
def conversation_canned(
    conversation_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[dict[str, Any]]:
    """The library this conversation's team sees (workspace-wide plus the team's own)."""
    conversation = access_conversation(session, agent, conversation_id)
    items = canned_svc.library(session, conversation.workspace_id, conversation.team_id)
    variants = canned_svc.variants_of(session, [c.id for c in items])
    return [canned_dict(c, variants[c.id]) for c in items]


@router.post("/conversations/{conversation_id}/canned")
def insert_canned(
    conversation_id: int, body: InsertIn, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    """Fill a canned response in for the composer (customer's language) and count the use."""

    def go(session: Session, agent: Agent) -> dict[str, Any]:
        conversation = access_conversation(session, agent, conversation_id)
        if body.canned_id is not None:
            canned = canned_svc.get_canned(session, conversation.workspace_id, body.canned_id)
        elif body.shortcut:
            canned = canned_svc.canned_by_shortcut(
                session, conversation.workspace_id, body.shortcut
            )
        else:
            raise ValidationFailed("give a shortcut (like /refund) or a canned_id")
        inserted = canned_svc.do_insert_canned(
            session, runtime(request).clock, conversation, agent, canned, language=body.language
        )
        return inserted.to_dict()

    return write_as_agent(request, ws, go)
