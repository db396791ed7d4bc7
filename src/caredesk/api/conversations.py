"""JSON API for conversations: thin — parse, call one service, serialise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.conversations import repository as repo
from caredesk.conversations.access import access_conversation, workspace_ids_of
from caredesk.conversations.lifecycle import do_change_status, search_resolutions
from caredesk.conversations.notes import do_add_note, do_mark_viewed, notes_of, timeline
from caredesk.conversations.sla_scope import sla_status
from caredesk.conversations.states import ResolutionNote
from caredesk.httpkit.deps import current_agent, db, signed_in_agent, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import ValidationFailed
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
    needs_reply: bool
    sla_due_at: datetime | None
    # running | paused | met | none | no_reply_needed (then sla_reason says why)
    sla_status: str = "none"
    sla_reason: str | None = None
    # Set by a search (``q``): the newest message that matched, and plain text around its
    # first hit (not HTML; a client marks the words itself).
    matched_message_id: int | None = None
    matched_excerpt: str | None = None

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        status, reason = sla_status(c)
        out = cls.model_validate(c, from_attributes=True)
        return out.model_copy(update={"sla_status": status, "sla_reason": reason})


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
    q: str = Query(
        "",
        max_length=200,
        description=(
            "Full-text search, as the inbox search box: every word must appear in one message "
            "(accents ignored); words of 3+ letters also match as prefixes; a reference such "
            "as ACME-000042 finds that conversation. A search returns at most the 50 newest "
            "matching conversations (add words to narrow it)."
        ),
    ),
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> list[ConversationOut]:
    if q.strip() and not repo.search_words(q):
        raise ValidationFailed("q has no words to search for (letters or digits)")
    rows = repo.inbox(
        session,
        repo.InboxFilter(
            workspace_ids=workspace_ids_of(session, agent),
            queue=queue,
            agent_id=agent.id,
            text=q,
            # A search reads hits until a page of conversations matched: the same page on both
            # databases, whatever the limit.
            limit=min(limit, repo.SEARCH_PAGE) if q.strip() else limit,
        ),
    )
    return [
        ConversationOut.of(r.conversation).model_copy(
            update={"matched_message_id": r.excerpt.message_id, "matched_excerpt": r.excerpt.text}
        )
        if r.excerpt is not None
        else ConversationOut.of(r.conversation)
        for r in rows
    ]


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
        agent = signed_in_agent(session, ws)
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


# -- Resolution process, notes and timeline (issue 5) -------------------------------------------


class ResolutionIn(BaseModel):
    problem: str = Field(min_length=1, max_length=10_000)
    cause: str = Field(min_length=1, max_length=10_000)
    fix: str = Field(min_length=1, max_length=10_000)


class StatusIn(BaseModel):
    status: str = Field(max_length=20)
    snooze_until: datetime | None = None
    reason: str | None = Field(default=None, max_length=500)
    resolution: ResolutionIn | None = None


class StatusOut(BaseModel):
    id: int
    status: str
    snoozed_until: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None
    sla_due_at: datetime | None


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)


class NoteOut(BaseModel):
    id: int
    author_agent_id: int
    body: str
    mentions: list[Any]
    created_at: datetime


class TimelineOut(BaseModel):
    id: int
    at: datetime
    name: str
    actor_kind: str
    actor_agent_id: int | None
    actor_name: str | None
    payload: dict[str, Any]


class ResolutionOut(BaseModel):
    conversation_id: int
    reference: str
    problem: str
    cause: str
    fix: str
    created_at: datetime


@router.post("/conversations/{conversation_id}/status", response_model=StatusOut)
def post_status(
    conversation_id: int, body: StatusIn, request: Request, ws: WebSession = Depends(web_session)
) -> StatusOut:
    """Move through the resolution process; closing needs ``resolution`` (problem/cause/fix)."""
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        agent = signed_in_agent(session, ws)
        c = access_conversation(session, agent, conversation_id)
        note = (
            ResolutionNote(body.resolution.problem, body.resolution.cause, body.resolution.fix)
            if body.resolution
            else None
        )
        do_change_status(
            session,
            rt.clock,
            c,
            body.status,
            agent=agent,
            resolution=note,
            snooze_until=body.snooze_until,
            reason=body.reason,
        )
        return StatusOut.model_validate(c, from_attributes=True)


@router.post("/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=201)
def post_note(
    conversation_id: int, body: NoteIn, request: Request, ws: WebSession = Depends(web_session)
) -> NoteOut:
    """A private note; ``@name`` mentions notify those colleagues."""
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        agent = signed_in_agent(session, ws)
        c = access_conversation(session, agent, conversation_id)
        note = do_add_note(session, rt.clock, c, agent, body.body)
        return NoteOut.model_validate(note, from_attributes=True)


@router.get("/conversations/{conversation_id}/notes", response_model=list[NoteOut])
def list_notes(
    conversation_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[NoteOut]:
    c = access_conversation(session, agent, conversation_id)
    return [NoteOut.model_validate(n, from_attributes=True) for n in notes_of(session, c.id)]


@router.post("/conversations/{conversation_id}/viewed")
def post_viewed(
    conversation_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, bool]:
    """Record that the signed-in agent looked at the conversation (deduplicated)."""
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        agent = signed_in_agent(session, ws)
        c = access_conversation(session, agent, conversation_id)
        return {"recorded": do_mark_viewed(session, rt.clock, c, agent)}


@router.get("/conversations/{conversation_id}/timeline", response_model=list[TimelineOut])
def get_timeline(
    conversation_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[TimelineOut]:
    """Every event of the conversation (assignment, state, reply, note, who viewed)."""
    c = access_conversation(session, agent, conversation_id)
    return [TimelineOut.model_validate(e, from_attributes=True) for e in timeline(session, c.id)]


@router.get("/resolutions", response_model=list[ResolutionOut])
def get_resolutions(
    q: str = Query("", max_length=300),
    limit: int = Query(20, ge=1, le=200),
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> list[ResolutionOut]:
    """Search the team's resolution notes (every word must appear)."""
    hits = search_resolutions(session, workspace_ids_of(session, agent), q, limit=limit)
    return [
        ResolutionOut(
            conversation_id=h.resolution.conversation_id,
            reference=h.reference,
            problem=h.resolution.problem,
            cause=h.resolution.cause,
            fix=h.resolution.fix,
            created_at=h.resolution.created_at,
        )
        for h in hits
    ]
