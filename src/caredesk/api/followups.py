"""JSON API for follow-ups (S18): schedule a promised contact, see what is due, mark it done."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.conversations.access import access_conversation, access_follow_up
from caredesk.conversations.followups import (
    do_cancel_follow_up,
    do_complete_follow_up,
    do_schedule_follow_up,
    follow_ups_due,
    follow_ups_of,
)
from caredesk.conversations.notes import workspace_agents
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.kit.clock import Clock
from caredesk.kit.errors import ValidationFailed
from caredesk.models import Agent, FollowUp

router = APIRouter(prefix="/api/v1", tags=["follow-ups"])


class FollowUpIn(BaseModel):
    kind: str = Field(pattern="^(call|email|dm|sms)$")
    due_at: datetime
    note: str = Field(default="", max_length=2000)
    owner_id: int | None = None


class FollowUpOut(BaseModel):
    id: int
    conversation_id: int
    agent_id: int
    kind: str
    due_at: datetime
    note: str
    status: str
    overdue: bool
    done_at: datetime | None

    @classmethod
    def of(cls, f: FollowUp, now: datetime) -> FollowUpOut:
        return cls(
            id=f.id,
            conversation_id=f.conversation_id,
            agent_id=f.agent_id,
            kind=f.kind,
            due_at=f.due_at,
            note=f.note,
            status=f.status,
            overdue=f.status in ("scheduled", "missed") and f.due_at < now,
            done_at=f.done_at,
        )


@router.post(
    "/conversations/{conversation_id}/follow-ups", response_model=FollowUpOut, status_code=201
)
def post_follow_up(
    conversation_id: int, body: FollowUpIn, request: Request, ws: WebSession = Depends(web_session)
) -> FollowUpOut:
    clock = runtime(request).clock

    def go(session: Session, me: Agent) -> FollowUpOut:
        c = access_conversation(session, me, conversation_id)
        owner = None
        if body.owner_id is not None and body.owner_id != me.id:
            colleagues = {a.id: a for a in workspace_agents(session, c.workspace_id)}
            owner = colleagues.get(body.owner_id)
            if owner is None:
                raise ValidationFailed(f"agent {body.owner_id} is not in this workspace")
        fu = do_schedule_follow_up(
            session,
            clock,
            c,
            me,
            kind=body.kind,
            due_at=body.due_at,
            note=body.note,
            owner=owner,
        )
        return FollowUpOut.of(fu, clock.now())

    return write_as_agent(request, ws, go)


@router.get("/conversations/{conversation_id}/follow-ups", response_model=list[FollowUpOut])
def list_follow_ups(
    conversation_id: int,
    request: Request,
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> list[FollowUpOut]:
    c = access_conversation(session, agent, conversation_id)
    now = runtime(request).clock.now()
    return [FollowUpOut.of(f, now) for f in follow_ups_of(session, c.id)]


@router.get("/follow-ups/due", response_model=list[FollowUpOut])
def due_follow_ups(
    request: Request, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[FollowUpOut]:
    """The signed-in agent's follow-ups that are due or overdue, oldest first."""
    now = runtime(request).clock.now()
    return [FollowUpOut.of(f, now) for f in follow_ups_due(session, agent.id, now)]


@router.post("/follow-ups/{follow_up_id}/done", response_model=FollowUpOut)
def post_done(
    follow_up_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> FollowUpOut:
    return _finish(request, ws, follow_up_id, do_complete_follow_up)


@router.post("/follow-ups/{follow_up_id}/cancel", response_model=FollowUpOut)
def post_cancel(
    follow_up_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> FollowUpOut:
    return _finish(request, ws, follow_up_id, do_cancel_follow_up)


def _finish(
    request: Request,
    ws: WebSession,
    follow_up_id: int,
    do: Callable[[Session, Clock, FollowUp, Agent], FollowUp],
) -> FollowUpOut:
    """Mark a follow-up done or cancelled (``do``) and answer with it."""
    clock = runtime(request).clock

    def go(session: Session, me: Agent) -> FollowUpOut:
        fu = do(session, clock, access_follow_up(session, me, follow_up_id), me)
        return FollowUpOut.of(fu, clock.now())

    return write_as_agent(request, ws, go)
