"""Server-rendered pages for agents: sign-in, inbox, UI language. Thin: parse, call, render."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from caredesk.conversations.access import workspace_ids_of
from caredesk.conversations.agents import authenticate
from caredesk.httpkit.deps import current_agent, db, runtime, web_session, whole_number
from caredesk.httpkit.session import (
    LoginThrottle,
    WebSession,
    clear_session,
    write_session,
)
from caredesk.httpkit.writes import write_as_agent
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import Forbidden, ValidationFailed
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent
from caredesk.models.conversation import KINDS, PRIORITIES, STATUSES
from caredesk.routing.admin import do_set_presence
from caredesk.web import inbox_view
from caredesk.web.i18n import LANGUAGES
from caredesk.web.render import page

router = APIRouter(include_in_schema=False)


def _throttles(request: Request) -> tuple[LoginThrottle, LoginThrottle]:
    """Per address and account (a guessed password), and per address alone (a sprayed list);
    one pair per app so each deployment (and each test's app) counts on its own."""
    state = request.app.state
    if not hasattr(state, "login_throttles"):
        state.login_throttles = (LoginThrottle(5, 300.0), LoginThrottle(30, 300.0))
    pair: tuple[LoginThrottle, LoginThrottle] = state.login_throttles
    return pair


QUEUES = inbox_view.QUEUES


def _login_token(rt: Runtime) -> str:
    return URLSafeTimedSerializer(rt.settings.secret_key, salt="login").dumps("login")


def _check_login_token(rt: Runtime, token: str) -> bool:
    try:
        URLSafeTimedSerializer(rt.settings.secret_key, salt="login").loads(token, max_age=3600)
        return True
    except BadSignature:
        return False


def check_csrf(ws: WebSession, token: str) -> None:
    if not secrets.compare_digest(ws.csrf, token or ""):
        raise Forbidden("the form expired or came from another site; reload and try again")


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/login")
def login_page(request: Request, lang: str = "", rt: Runtime = Depends(runtime)) -> HTMLResponse:
    return page(request, "login.html", {"login_csrf": _login_token(rt)}, lang=lang or None)


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    rt: Runtime = Depends(runtime),
) -> Response:
    client = request.client.host if request.client else "?"
    key = f"{client}|{email.strip().casefold()}"

    def fail(message: str, status: int) -> HTMLResponse:
        return page(
            request,
            "login.html",
            {"error": message, "email": email, "login_csrf": _login_token(rt)},
            status_code=status,
        )

    throttle, ip_throttle = _throttles(request)
    if not _check_login_token(rt, csrf_token):
        return fail("The sign-in form expired. Please try again.", 403)
    if throttle.blocked(key) or ip_throttle.blocked(client):
        return fail("Too many failed attempts. Wait a few minutes and try again.", 429)
    with unit_of_work(rt.sessions) as session:
        agent = authenticate(session, email, password)
        agent_id = agent.id if agent else None
    if agent_id is None:
        throttle.fail(key)
        ip_throttle.fail(client)
        return fail("Email or password is wrong.", 401)
    throttle.reset(key)
    response = RedirectResponse("/inbox", status_code=303)
    write_session(response, rt.settings.secret_key, agent_id, secure=rt.settings.secure_cookies)
    return response


@router.post("/logout")
def logout(
    csrf_token: Annotated[str, Form()] = "", ws: WebSession = Depends(web_session)
) -> Response:
    check_csrf(ws, csrf_token)
    response = RedirectResponse("/login", status_code=303)
    clear_session(response)
    return response


def _choice(value: str, allowed: tuple[str, ...] | list[str]) -> str:
    return value if value in allowed else ""


@router.get("/inbox")
def inbox(
    request: Request,
    queue: str = "open",
    q: str = "",
    channel: str = "",
    language: str = "",
    kind: str = "",
    priority: str = "",
    status: str = "",
    team: str = "",
    tag: str = "",
    sort: str = "newest",
    partial: str = "",
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
    rt: Runtime = Depends(runtime),
) -> HTMLResponse:
    workspaces = workspace_ids_of(session, agent)
    choices = inbox_view.filter_choices(session, workspaces)
    query = inbox_view.InboxQuery(
        queue=queue if queue in dict(QUEUES) else "open",
        channel=channel[:30] if channel in choices["channels"] else "",
        language=language[:8] if language in choices["languages"] else "",
        kind=_choice(kind, KINDS),
        priority=_choice(priority, PRIORITIES),
        status=_choice(status, STATUSES),
        team=whole_number(team),
        tag=tag.strip()[:40],
        text=q.strip()[:200],
        sort=sort if sort in dict(inbox_view.SORTS) else "newest",
    )
    now = rt.clock.now()
    team_ids = inbox_view.my_team_ids(session, agent.id)
    context = {
        "agent": agent,
        "csrf": ws.csrf,
        "nav": "inbox",
        "queues": QUEUES,
        "sorts": inbox_view.SORTS,
        "query": query,
        "params": query.as_params(),
        "qs": urlencode(query.as_params()),
        "rows": inbox_view.rows(session, workspaces, query, agent.id, now, team_ids=team_ids),
        "counts": inbox_view.counts(session, workspaces, agent.id, now, team_ids=team_ids),
        "choices": choices,
        "kinds": KINDS,
        "priorities": PRIORITIES,
        "statuses": STATUSES,
        "now": now,
        "workspace_ids": list(workspaces),
    }
    # The live view re-fetches only the list and the counts when something changes.
    return page(request, "inbox_live.html" if partial else "inbox.html", context)


def do_set_ui_language(session: Session, agent: Agent, lang: str) -> Agent:
    """The agent's own preference: which language the desk speaks to them."""
    if lang not in LANGUAGES:
        raise ValidationFailed(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    agent.ui_language = lang
    return agent


@router.post("/me/language")
def set_language(
    request: Request,
    lang: Annotated[str, Form(max_length=8)],
    csrf_token: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "/inbox",
    ws: WebSession = Depends(web_session),
) -> Response:
    check_csrf(ws, csrf_token)
    write_as_agent(request, ws, lambda session, agent: do_set_ui_language(session, agent, lang))
    return _back_to(next_url)


@router.post("/me/presence")
def set_presence(
    request: Request,
    presence: Annotated[str, Form(max_length=10)],
    csrf_token: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "/inbox",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    """Online, away or offline: routing gives new conversations only to agents who are online."""
    check_csrf(ws, csrf_token)

    def go(session: Session, agent: Agent) -> None:
        workspaces = workspace_ids_of(session, agent)
        if workspaces:
            do_set_presence(session, rt.clock, agent, presence, workspace_id=workspaces[0])

    write_as_agent(request, ws, go)
    return _back_to(next_url)


def _back_to(next_url: str) -> RedirectResponse:
    # Only back to a page of ours (never an open redirect).
    target = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/inbox"
    return RedirectResponse(target, status_code=303)
