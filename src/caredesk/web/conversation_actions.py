"""The conversation page and everything an agent does on it. Each action: check the CSRF token,
call one service in a unit of work, then redirect back (or show the page again with the error)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from caredesk.conversations.access import access_conversation, access_follow_up
from caredesk.conversations.followups import do_complete_follow_up, do_schedule_follow_up
from caredesk.conversations.lifecycle import do_change_status, do_close, do_reopen
from caredesk.conversations.notes import do_add_note, do_mark_viewed
from caredesk.httpkit.deps import (
    current_agent,
    db,
    runtime,
    signed_in_agent,
    web_session,
    whole_number,
)
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import CaredeskError, Forbidden, NotFound, ValidationFailed
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, Conversation
from caredesk.replies.canned import do_insert_canned, get_canned
from caredesk.replies.composer import (
    NeedsOverride,
    Override,
    do_send_checked_reply,
    lint_for_conversation,
)
from caredesk.replies.private import do_move_to_private
from caredesk.replies.problems import ProblemsFound
from caredesk.replies.suggest import suggest_replies
from caredesk.routing.retriage import do_correct_triage
from caredesk.routing.service import do_assign, do_transfer, do_unassign
from caredesk.triage.store import CORRECTABLE
from caredesk.web.conversation_view import conversation_context
from caredesk.web.pages import check_csrf
from caredesk.web.presence import presence_map
from caredesk.web.render import page

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form()]
Action = Callable[[Session, Runtime, Agent, Conversation], object]


def _render(
    request: Request,
    rt: Runtime,
    ws: WebSession,
    conversation_id: int,
    *,
    error: str | None = None,
    status: int = 200,
    extra: dict[str, Any] | None = None,
    session: Session | None = None,
    checked: Conversation | None = None,
) -> Response:
    """``checked``: the conversation, already access-checked in ``session`` by the caller."""
    own = session is None
    s = session or rt.sessions()
    try:
        agent = signed_in_agent(s, ws)
        conversation = checked or access_conversation(s, agent, conversation_id)
        context = {
            "agent": agent,
            "csrf": ws.csrf,
            "nav": "inbox",
            "client_key": secrets.token_urlsafe(12),
            "error": error,
            "viewers": [
                v for v in presence_map().viewers(conversation.id) if v["agent_id"] != agent.id
            ],
            "now": rt.clock.now(),
            **conversation_context(s, conversation, agent),
            **(extra or {}),
        }
        return page(request, "conversation.html", context, status_code=status)
    finally:
        if own:
            s.close()


def _act(
    request: Request,
    rt: Runtime,
    ws: WebSession,
    conversation_id: int,
    csrf_token: str,
    action: Action,
    *,
    anchor: str = "",
    draft: dict[str, Any] | None = None,
) -> Response:
    check_csrf(ws, csrf_token)

    def go(session: Session, agent: Agent) -> object:
        return action(session, rt, agent, access_conversation(session, agent, conversation_id))

    try:
        write_as_agent(request, ws, go)
    except (NotFound, Forbidden):
        raise
    except CaredeskError as exc:
        extra = dict(draft or {})
        if isinstance(exc, ProblemsFound):
            extra["problems"] = exc.problem_dicts()
            extra["needs_override"] = isinstance(exc, NeedsOverride)
        return _render(
            request, rt, ws, conversation_id, error=exc.message, status=exc.status_code, extra=extra
        )
    return RedirectResponse(f"/c/{conversation_id}{anchor}", status_code=303)


@router.get("/c/{conversation_id}")
def conversation_page(
    request: Request,
    conversation_id: int,
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> Response:
    conversation = access_conversation(session, agent, conversation_id)
    # Its own short transaction: on SQLite a write held open while the page renders blocks
    # every other writer (measured as "database is locked" under 50 agents).
    with unit_of_work(rt.sessions) as writer:
        do_mark_viewed(writer, rt.clock, conversation, agent)
    return _render(request, rt, ws, conversation_id, session=session, checked=conversation)


@router.post("/c/{conversation_id}/reply")
def reply(
    request: Request,
    conversation_id: int,
    text: Annotated[str, Form(max_length=20_000)],
    csrf_token: Csrf = "",
    client_key: Annotated[str, Form(max_length=80)] = "",
    private: Annotated[str, Form()] = "",
    override_reason: Annotated[str, Form(max_length=500)] = "",
    send_anyway: Annotated[str, Form()] = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def send(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        override = Override(override_reason or "sent anyway") if send_anyway else None
        return do_send_checked_reply(
            session,
            rt.clock,
            c,
            agent,
            text,
            private=bool(private),
            client_key=client_key or None,
            override=override,
        )

    draft = {"draft": text, "draft_private": bool(private)}
    return _act(request, rt, ws, conversation_id, csrf_token, send, anchor="#composer", draft=draft)


@router.post("/c/{conversation_id}/lint")
def lint(
    conversation_id: int,
    text: Annotated[str, Form(max_length=20_000)] = "",
    private: Annotated[str, Form()] = "",
    csrf_token: Csrf = "",
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
) -> JSONResponse:
    """Guideline warnings for the draft as the agent types (the composer's live check)."""
    check_csrf(ws, csrf_token)
    conversation = access_conversation(session, agent, conversation_id)
    problems = lint_for_conversation(session, conversation, text, private=bool(private))
    return JSONResponse({"problems": [p.to_dict(text) for p in problems]})


@router.get("/c/{conversation_id}/suggestions")
def suggestions(
    conversation_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> JSONResponse:
    """Suggested replies, fetched after the page has shown (they take a moment to rank)."""
    conversation = access_conversation(session, agent, conversation_id)
    found = suggest_replies(session, conversation, agent, k=4)
    return JSONResponse({"suggestions": [s.to_dict() for s in found]})


@router.post("/c/{conversation_id}/canned/{canned_id}")
def insert_canned(
    request: Request,
    conversation_id: int,
    canned_id: int,
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> JSONResponse:
    """The composer's `/` shortcut: the response rendered for this customer, in their language."""
    check_csrf(ws, csrf_token)

    def go(session: Session, agent: Agent) -> JSONResponse:
        conversation = access_conversation(session, agent, conversation_id)
        canned = get_canned(session, conversation.workspace_id, canned_id)
        inserted = do_insert_canned(session, rt.clock, conversation, agent, canned)
        return JSONResponse(inserted.to_dict())

    return write_as_agent(request, ws, go)


@router.post("/c/{conversation_id}/triage")
def correct_triage(
    request: Request,
    conversation_id: int,
    kind: Annotated[str, Form()] = "",
    intent: Annotated[str, Form()] = "",
    sentiment: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "",
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    given = {"kind": kind, "intent": intent, "sentiment": sentiment, "priority": priority}
    changes = {k: v for k, v in given.items() if v and k in CORRECTABLE}

    def correct(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        return do_correct_triage(session, rt.clock, c, agent, changes)

    return _act(request, rt, ws, conversation_id, csrf_token, correct)


@router.post("/c/{conversation_id}/note")
def add_note(
    request: Request,
    conversation_id: int,
    body: Annotated[str, Form(max_length=10_000)],
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def note(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        return do_add_note(session, rt.clock, c, agent, body)

    return _act(request, rt, ws, conversation_id, csrf_token, note, anchor="#composer")


@router.post("/c/{conversation_id}/private")
def move_to_private(
    request: Request,
    conversation_id: int,
    via: Annotated[str, Form()] = "dm",
    client_key: Annotated[str, Form(max_length=80)] = "",
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def move(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        return do_move_to_private(session, rt.clock, c, agent, via=via, client_key=client_key)

    return _act(request, rt, ws, conversation_id, csrf_token, move, anchor="#composer")


@router.post("/c/{conversation_id}/assign")
def assign(
    request: Request,
    conversation_id: int,
    agent_id: Annotated[str, Form()] = "",
    override: Annotated[str, Form()] = "",
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def act(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        if agent_id == "me":
            return do_assign(session, rt.clock, c, agent.id, actor=agent, override=True)
        if not agent_id:
            return do_unassign(session, rt.clock, c, actor=agent)
        colleague = whole_number(agent_id)
        if colleague is None:
            raise ValidationFailed("choose a colleague to assign")
        return do_assign(session, rt.clock, c, colleague, actor=agent, override=bool(override))

    return _act(request, rt, ws, conversation_id, csrf_token, act)


@router.post("/c/{conversation_id}/transfer")
def transfer(
    request: Request,
    conversation_id: int,
    team_id: Annotated[str, Form()] = "",
    agent_id: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def act(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        return do_transfer(
            session,
            rt.clock,
            c,
            actor=agent,
            team_id=whole_number(team_id),
            agent_id=whole_number(agent_id),
            override=True,
            reason=reason or None,
        )

    return _act(request, rt, ws, conversation_id, csrf_token, act)


@router.post("/c/{conversation_id}/status")
def change_status(
    request: Request,
    conversation_id: int,
    status: Annotated[str, Form(max_length=20)],
    snooze_until: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def act(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        if status == "reopen":
            return do_reopen(session, rt.clock, c, agent=agent)
        until = _local_time(snooze_until, agent.timezone) if snooze_until else None
        return do_change_status(session, rt.clock, c, status, agent=agent, snooze_until=until)

    return _act(request, rt, ws, conversation_id, csrf_token, act)


@router.post("/c/{conversation_id}/close")
def close(
    request: Request,
    conversation_id: int,
    problem: Annotated[str, Form(max_length=4000)] = "",
    cause: Annotated[str, Form(max_length=4000)] = "",
    fix: Annotated[str, Form(max_length=4000)] = "",
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def act(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        return do_close(session, rt.clock, c, agent=agent, problem=problem, cause=cause, fix=fix)

    draft = {"resolution": {"problem": problem, "cause": cause, "fix": fix}}
    return _act(request, rt, ws, conversation_id, csrf_token, act, draft=draft)


def _local_time(value: str, tz: str) -> datetime:
    """A datetime-local field (the agent's wall clock) as an aware time."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed(f"not a date and time: {value[:40]!r}") from exc
    if naive.tzinfo is not None:
        return naive
    try:
        return naive.replace(tzinfo=ZoneInfo(tz))
    except (KeyError, ValueError):
        return naive.replace(tzinfo=ZoneInfo("UTC"))


@router.post("/c/{conversation_id}/follow-up")
def schedule_follow_up(
    request: Request,
    conversation_id: int,
    kind: Annotated[str, Form(max_length=20)] = "call",
    due: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def act(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        if not due:
            raise ValidationFailed("choose when to follow up")
        when = _local_time(due, agent.timezone)
        return do_schedule_follow_up(session, rt.clock, c, agent, kind=kind, due_at=when, note=note)

    return _act(request, rt, ws, conversation_id, csrf_token, act)


@router.post("/c/{conversation_id}/follow-up/{follow_up_id}/done")
def follow_up_done(
    request: Request,
    conversation_id: int,
    follow_up_id: int,
    csrf_token: Csrf = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def act(session: Session, rt: Runtime, agent: Agent, c: Conversation) -> object:
        follow_up = access_follow_up(session, agent, follow_up_id)
        if follow_up.conversation_id != c.id:
            raise NotFound("follow-up not found")
        return do_complete_follow_up(session, rt.clock, follow_up, agent)

    return _act(request, rt, ws, conversation_id, csrf_token, act)
