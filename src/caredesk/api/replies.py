"""JSON API for the composer: brand-voice lint, checked send, moving to private, delivery
retry, suggestions, customer history and the team guidelines they check against; plus
``write_or_problems``, which :mod:`api.canned` shares. Thin: parse, check access, call one
service, serialise. Problems come back with code, message, span, line/column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.conversations.access import access_conversation, access_team
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.kit.errors import NotFound
from caredesk.models import Agent, Message
from caredesk.replies import kb
from caredesk.replies.composer import Override, do_send_checked_reply, lint_for_conversation
from caredesk.replies.composer import team_guidelines as guidelines_of
from caredesk.replies.guidelines import do_set_guidelines, parse_guidelines
from caredesk.replies.history import customer_history
from caredesk.replies.private import do_move_to_private
from caredesk.replies.problems import ProblemsFound
from caredesk.replies.service import do_retry_delivery
from caredesk.replies.suggest import conversation_query, past_replies_ready, suggest_replies

router = APIRouter(prefix="/api/v1", tags=["replies"])
MIN_ARTICLE_SIMILARITY = 0.05


def write_or_problems(
    request: Request,
    ws: WebSession,
    fn: Callable[[Session, Agent], dict[str, Any]],
    *,
    status_code: int,
) -> JSONResponse:
    """``write_as_agent``; template or guideline problems come back each with its place."""
    try:
        return JSONResponse(write_as_agent(request, ws, fn), status_code=status_code)
    except ProblemsFound as exc:
        return JSONResponse(
            {"error": exc.message, "problems": exc.problem_dicts()}, status_code=exc.status_code
        )


def message_dict(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "conversation_id": m.conversation_id,
        "text": m.text,
        "is_private": m.is_private,
        "sent_state": m.sent_state,
        "send_error": m.send_error,
        "in_reply_to_external_id": m.in_reply_to_external_id,
        "guideline_override": m.guideline_override,
    }


# --------------------------------------------------------------------------- composer


class DraftIn(BaseModel):
    text: str = Field(max_length=40_000)
    private: bool = False


class SendIn(DraftIn):
    client_key: str | None = Field(default=None, max_length=80)
    # Sending despite guideline warnings: the agent says why; it is stored and recorded.
    override_reason: str | None = Field(default=None, max_length=500)
    override: bool = False


class MoveIn(BaseModel):
    via: Literal["dm", "email", "phone"] = "dm"
    client_key: str | None = Field(default=None, max_length=80)


@router.post("/conversations/{conversation_id}/lint")
def lint(
    conversation_id: int,
    body: DraftIn,
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> dict[str, Any]:
    """Check a draft against the channel and the team's voice; every problem explained."""
    conversation = access_conversation(session, agent, conversation_id)
    g = guidelines_of(session, conversation)
    problems = lint_for_conversation(
        session, conversation, body.text, private=body.private, guidelines=g
    )
    return {
        "ok": not problems,
        "problems": [p.to_dict(body.text) for p in problems],
        "blocking": any(p.severity == "error" for p in problems),
        "tone_hints": list(g.tone_hints),
    }


@router.post("/conversations/{conversation_id}/send", status_code=201)
def send(
    conversation_id: int, body: SendIn, request: Request, ws: WebSession = Depends(web_session)
) -> JSONResponse:
    """Send through the guidelines: 409 with the problems unless ``override`` is set."""

    def go(session: Session, agent: Agent) -> dict[str, Any]:
        conversation = access_conversation(session, agent, conversation_id)
        override = Override(body.override_reason or "") if body.override else None
        message = do_send_checked_reply(
            session,
            runtime(request).clock,
            conversation,
            agent,
            body.text,
            private=body.private,
            client_key=body.client_key,
            override=override,
        )
        return message_dict(message)

    return write_or_problems(request, ws, go, status_code=201)


@router.post("/conversations/{conversation_id}/move-to-private", status_code=201)
def move_to_private(
    conversation_id: int, body: MoveIn, request: Request, ws: WebSession = Depends(web_session)
) -> JSONResponse:
    def go(session: Session, agent: Agent) -> dict[str, Any]:
        conversation = access_conversation(session, agent, conversation_id)
        moved = do_move_to_private(
            session,
            runtime(request).clock,
            conversation,
            agent,
            via=body.via,
            client_key=body.client_key,
        )
        return {
            "public_message": message_dict(moved.public_message) if moved.public_message else None,
            "private_message": message_dict(moved.private_message),
            "warnings": moved.warnings,
            "status": conversation.status,
        }

    return write_or_problems(request, ws, go, status_code=201)


@router.post("/messages/{message_id}/retry")
def retry_delivery(
    message_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    """Queue a failed reply again (after the agent fixed what the network refused)."""

    def go(session: Session, agent: Agent) -> dict[str, Any]:
        message = session.get(Message, message_id)
        if message is None:
            raise NotFound("message not found")
        access_conversation(session, agent, message.conversation_id)
        return message_dict(do_retry_delivery(session, runtime(request).clock, message, agent))

    return write_as_agent(request, ws, go)


@router.get("/conversations/{conversation_id}/suggestions")
def suggestions(
    conversation_id: int,
    k: int = Query(5, ge=1, le=20),
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> dict[str, Any]:
    conversation = access_conversation(session, agent, conversation_id)
    found = suggest_replies(session, conversation, agent, k=k)
    query = conversation_query(session, conversation)
    articles = kb.search_articles(session, conversation.workspace_id, query, limit=3)
    return {
        "suggestions": [s.to_dict() for s in found],
        # Help articles to link to (S9), for the same customer words.
        "articles": [a.to_dict() for a in articles if a.score >= MIN_ARTICLE_SIMILARITY],
        # False while a big desk's past conversations are first indexed: canned only for now.
        "past_replies_ready": past_replies_ready(session, conversation.workspace_id),
    }


@router.get("/conversations/{conversation_id}/history")
def history(
    conversation_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> dict[str, Any]:
    conversation = access_conversation(session, agent, conversation_id)
    return {"bullets": [h.to_dict() for h in customer_history(session, conversation)]}


# --------------------------------------------------------------------------- guidelines


@router.get("/teams/{team_id}/guidelines")
def get_guidelines(
    team_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> dict[str, Any]:
    team = access_team(session, agent, team_id)
    return parse_guidelines(team.guidelines).to_dict()


@router.put("/teams/{team_id}/guidelines")
def put_guidelines(
    team_id: int, body: dict[str, Any], request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    def go(session: Session, agent: Agent) -> dict[str, Any]:
        team = access_team(session, agent, team_id, manage=True)
        return do_set_guidelines(session, runtime(request).clock, team, body, agent).to_dict()

    return write_as_agent(request, ws, go)
