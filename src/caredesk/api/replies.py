"""JSON API for the composer: canned responses, brand-voice lint, checked send, moving to
private, suggestions, customer history, guidelines and the knowledge base. Thin: parse, check
access, call one service, serialise. Problems come back with code, message, span, line/column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.conversations.access import access_conversation, access_team, access_workspace
from caredesk.httpkit.deps import current_agent, db, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import NotFound, ValidationFailed
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, CannedResponse, Message
from caredesk.replies import canned as canned_svc
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
T = TypeVar("T")


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _write(request: Request, ws: WebSession, fn: Callable[[Session, Agent], T]) -> T:
    """Run one write in its own unit of work as the signed-in agent."""
    with unit_of_work(_rt(request).sessions) as session:
        agent = session.get_one(Agent, ws.agent_id)
        return fn(session, agent)


def _problems(exc: ProblemsFound) -> JSONResponse:
    return JSONResponse(
        {"error": exc.message, "problems": exc.problem_dicts()}, status_code=exc.status_code
    )


def _message(m: Message) -> dict[str, Any]:
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


def _canned(c: CannedResponse, variants: dict[str, str]) -> dict[str, Any]:
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
    return [_canned(c, variants[c.id]) for c in items]


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
            _rt(request).clock,
            workspace,
            name=body.name,
            shortcut=body.shortcut,
            variants=body.variants,
            team_id=body.team_id,
            tags=body.tags,
            canned_id=canned_id,
            actor=agent,
        )
        return _canned(canned, canned_svc.variants_of(session, [canned.id])[canned.id])

    try:
        out = _write(request, ws, go)
    except ProblemsFound as exc:
        return _problems(exc)
    return JSONResponse(out, status_code=201 if canned_id is None else 200)


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
        canned_svc.do_delete_canned(session, _rt(request).clock, workspace_id, canned_id, agent)

    _write(request, ws, go)


@router.post("/workspaces/{workspace_id}/canned/starter")
def install_starter(
    workspace_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    def go(session: Session, agent: Agent) -> dict[str, Any]:
        workspace = access_workspace(session, agent, workspace_id, manage=True)
        return {"added": canned_svc.do_install_starter_set(session, _rt(request).clock, workspace)}

    return _write(request, ws, go)


# --------------------------------------------------------------------------- composer


class InsertIn(BaseModel):
    shortcut: str | None = Field(default=None, max_length=60)
    canned_id: int | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


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


@router.get("/conversations/{conversation_id}/canned")
def conversation_canned(
    conversation_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[dict[str, Any]]:
    """The library this conversation's team sees (workspace-wide plus the team's own)."""
    conversation = access_conversation(session, agent, conversation_id)
    items = canned_svc.library(session, conversation.workspace_id, conversation.team_id)
    variants = canned_svc.variants_of(session, [c.id for c in items])
    return [_canned(c, variants[c.id]) for c in items]


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
            session, _rt(request).clock, conversation, agent, canned, language=body.language
        )
        return inserted.to_dict()

    return _write(request, ws, go)


@router.post("/conversations/{conversation_id}/lint")
def lint(
    conversation_id: int,
    body: DraftIn,
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> dict[str, Any]:
    """Check a draft against the channel and the team's voice; every problem explained."""
    conversation = access_conversation(session, agent, conversation_id)
    problems = lint_for_conversation(session, conversation, body.text, private=body.private)
    g = guidelines_of(session, conversation)
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
            _rt(request).clock,
            conversation,
            agent,
            body.text,
            private=body.private,
            client_key=body.client_key,
            override=override,
        )
        return _message(message)

    try:
        return JSONResponse(_write(request, ws, go), status_code=201)
    except ProblemsFound as exc:
        return _problems(exc)


@router.post("/conversations/{conversation_id}/move-to-private", status_code=201)
def move_to_private(
    conversation_id: int, body: MoveIn, request: Request, ws: WebSession = Depends(web_session)
) -> JSONResponse:
    def go(session: Session, agent: Agent) -> dict[str, Any]:
        conversation = access_conversation(session, agent, conversation_id)
        moved = do_move_to_private(
            session,
            _rt(request).clock,
            conversation,
            agent,
            via=body.via,
            client_key=body.client_key,
        )
        return {
            "public_message": _message(moved.public_message) if moved.public_message else None,
            "private_message": _message(moved.private_message),
            "warnings": moved.warnings,
            "status": conversation.status,
        }

    try:
        return JSONResponse(_write(request, ws, go), status_code=201)
    except ProblemsFound as exc:
        return _problems(exc)


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
        return _message(do_retry_delivery(session, _rt(request).clock, message, agent))

    return _write(request, ws, go)


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
        "past_replies_ready": past_replies_ready(conversation.workspace_id),
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
        return do_set_guidelines(session, _rt(request).clock, team, body, agent).to_dict()

    return _write(request, ws, go)


# --------------------------------------------------------------------------- knowledge base


class ArticleIn(BaseModel):
    title: str = Field(max_length=400)
    body: str = Field(max_length=40_000)
    url: str | None = Field(default=None, max_length=600)
    slug: str | None = Field(default=None, max_length=160)
    language: str | None = Field(default=None, max_length=16)


class FromResolutionIn(BaseModel):
    title: str | None = Field(default=None, max_length=400)
    url: str | None = Field(default=None, max_length=600)


def _article(a: Any) -> dict[str, Any]:
    return kb.ArticleHit(a, 0.0, []).to_dict() | {"body": a.body}


@router.get("/workspaces/{workspace_id}/kb")
def search_kb(
    workspace_id: int,
    q: str = Query("", max_length=2000),
    limit: int = Query(10, ge=1, le=50),
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> dict[str, Any]:
    access_workspace(session, agent, workspace_id)
    return {
        "articles": [h.to_dict() for h in kb.search_articles(session, workspace_id, q, limit=limit)]
    }


@router.get("/workspaces/{workspace_id}/kb/{article_id}")
def get_kb(
    workspace_id: int,
    article_id: int,
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> dict[str, Any]:
    access_workspace(session, agent, workspace_id)
    return _article(kb.get_article(session, workspace_id, article_id))


def _save_article(
    request: Request, ws: WebSession, workspace_id: int, body: ArticleIn, article_id: int | None
) -> dict[str, Any]:
    def go(session: Session, agent: Agent) -> dict[str, Any]:
        workspace = access_workspace(session, agent, workspace_id)
        article = kb.do_save_article(
            session,
            _rt(request).clock,
            workspace,
            title=body.title,
            body=body.body,
            url=body.url,
            slug=body.slug,
            language=body.language,
            article_id=article_id,
            actor=agent,
        )
        return _article(article)

    return _write(request, ws, go)


@router.post("/workspaces/{workspace_id}/kb", status_code=201)
def create_kb(
    workspace_id: int, body: ArticleIn, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    return _save_article(request, ws, workspace_id, body, None)


@router.put("/workspaces/{workspace_id}/kb/{article_id}")
def update_kb(
    workspace_id: int,
    article_id: int,
    body: ArticleIn,
    request: Request,
    ws: WebSession = Depends(web_session),
) -> dict[str, Any]:
    return _save_article(request, ws, workspace_id, body, article_id)


@router.delete("/workspaces/{workspace_id}/kb/{article_id}", status_code=204)
def delete_kb(
    workspace_id: int, article_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> None:
    def go(session: Session, agent: Agent) -> None:
        access_workspace(session, agent, workspace_id, manage=True)
        kb.do_delete_article(session, _rt(request).clock, workspace_id, article_id, agent)

    _write(request, ws, go)


@router.post("/conversations/{conversation_id}/kb-article", status_code=201)
def article_from_resolution(
    conversation_id: int,
    body: FromResolutionIn,
    request: Request,
    ws: WebSession = Depends(web_session),
) -> dict[str, Any]:
    """One step from a conversation's resolution note to a knowledge-base article."""

    def go(session: Session, agent: Agent) -> dict[str, Any]:
        conversation = access_conversation(session, agent, conversation_id)
        article = kb.do_article_from_resolution(
            session, _rt(request).clock, conversation, agent, title=body.title, url=body.url
        )
        return _article(article)

    return _write(request, ws, go)
