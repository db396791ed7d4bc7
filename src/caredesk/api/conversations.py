"""JSON API for conversations: thin — parse, call one service, serialise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.conversations import repository as repo
from caredesk.conversations.access import access_conversation, workspace_ids_of
from caredesk.httpkit.deps import current_agent, db, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, Conversation, Message
from caredesk.replies.service import do_send_reply

router = APIRouter(prefix="/api/v1", tags=["conversations"])


class ConversationOut(BaseModel):
    id: int
    reference: str
    workspace_id: int
    status: str
    priority: str
    kind: str
    intent: str | None
    language: str | None
    sentiment: str | None
    channel: str
    customer_id: int
    team_id: int | None
    assignee_id: int | None
    unaddressed: bool
    last_message_at: datetime
    first_response_at: datetime | None

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        return cls.model_validate(c, from_attributes=True)


class MessageOut(BaseModel):
    id: int
    direction: str
    channel: str
    external_id: str | None
    author_label: str
    text: str
    is_private: bool
    sent_state: str | None
    send_error: str | None
    language: str | None
    created_at: datetime
    triage: dict[str, Any]

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls.model_validate(m, from_attributes=True)


class ConversationDetail(BaseModel):
    conversation: ConversationOut
    messages: list[MessageOut]


class ReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    private: bool = False
    client_key: str | None = Field(default=None, max_length=80)


@router.get("/conversations", response_model=list[ConversationOut])
def list_conversations(
    queue: str = Query("all", pattern="^(all|mine|unassigned|sales|open|closed)$"),
    limit: int = Query(50, ge=1, le=200),
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> list[ConversationOut]:
    rows = repo.inbox(
        session,
        repo.InboxFilter(
            workspace_ids=workspace_ids_of(session, agent),
            queue=queue,
            agent_id=agent.id,
            limit=limit,
        ),
    )
    return [ConversationOut.of(r.conversation) for r in rows]


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
def get_conversation(
    conversation_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> ConversationDetail:
    conversation = access_conversation(session, agent, conversation_id)
    messages = repo.messages_of(session, conversation.id)
    return ConversationDetail(
        conversation=ConversationOut.of(conversation),
        messages=[MessageOut.of(m) for m in messages],
    )


@router.post("/conversations/{conversation_id}/replies", response_model=MessageOut, status_code=201)
def post_reply(
    conversation_id: int, body: ReplyIn, request: Request, ws: WebSession = Depends(web_session)
) -> MessageOut:
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        agent = session.get_one(Agent, ws.agent_id)
        conversation = access_conversation(session, agent, conversation_id)
        message = do_send_reply(
            session,
            rt.clock,
            conversation,
            agent,
            body.text,
            private=body.private,
            client_key=body.client_key,
        )
        out = MessageOut.of(message)
    return out
