"""JSON API for triage: an agent corrects a conversation's triage; the correction becomes a
training label for ``caredesk triage retrain``. Thin: parse, call one service, serialise."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from caredesk.conversations.access import access_conversation
from caredesk.httpkit.deps import LoginRequired, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, Conversation
from caredesk.routing.retriage import do_correct_triage

router = APIRouter(prefix="/api/v1", tags=["triage"])


class TriageCorrectionIn(BaseModel):
    """Only the fields the agent corrects; values are checked by the service."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(default=None, max_length=40)
    intent: str | None = Field(default=None, max_length=40)
    sentiment: str | None = Field(default=None, max_length=40)
    priority: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=8)


class TriageOut(BaseModel):
    conversation_id: int
    language: str | None
    sentiment: str | None
    kind: str
    intent: str | None
    priority: str
    needs_reply: bool
    reasons: list[str]
    changed: list[str]

    @classmethod
    def of(cls, c: Conversation, changed: list[str]) -> TriageOut:
        return cls(
            conversation_id=c.id,
            language=c.language,
            sentiment=c.sentiment,
            kind=c.kind,
            intent=c.intent,
            priority=c.priority,
            needs_reply=bool(c.needs_reply),
            reasons=list(c.triage_reasons or []),
            changed=changed,
        )


@router.post("/conversations/{conversation_id}/triage", response_model=TriageOut)
def correct_triage(
    conversation_id: int,
    body: TriageCorrectionIn,
    request: Request,
    ws: WebSession = Depends(web_session),
) -> TriageOut:
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        agent = session.get(Agent, ws.agent_id)
        if agent is None or not agent.is_active:
            raise LoginRequired("please sign in")
        conversation = access_conversation(session, agent, conversation_id)
        changes = {k: v for k, v in body.model_dump().items() if v is not None}
        changed = do_correct_triage(session, rt.clock, conversation, agent, changes)
        out = TriageOut.of(conversation, changed)
    return out
