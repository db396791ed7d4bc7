"""JSON API for the knowledge base: search, articles, and a resolution note to an article."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.conversations.access import access_conversation, access_workspace
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.models import Agent
from caredesk.replies import kb

router = APIRouter(prefix="/api/v1", tags=["kb"])


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
            runtime(request).clock,
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

    return write_as_agent(request, ws, go)


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
        kb.do_delete_article(session, runtime(request).clock, workspace_id, article_id, agent)

    write_as_agent(request, ws, go)


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
            session, runtime(request).clock, conversation, agent, title=body.title, url=body.url
        )
        return _article(article)

    return write_as_agent(request, ws, go)
