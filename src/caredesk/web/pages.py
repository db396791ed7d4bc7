"""Server-rendered pages for agents. Thin: parse, call one service, render."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from caredesk.conversations import repository as repo
from caredesk.conversations.access import access_conversation, workspace_ids_of
from caredesk.conversations.agents import authenticate
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import (
    LoginThrottle,
    WebSession,
    clear_session,
    write_session,
)
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import Forbidden
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, Customer
from caredesk.replies.service import do_send_reply
from caredesk.web.render import page

router = APIRouter(include_in_schema=False)
throttle = LoginThrottle()

QUEUES = [
    ("mine", "Mine"),
    ("unassigned", "Unassigned"),
    ("sales", "Sales leads"),
    ("open", "All open"),
    ("all", "Everything"),
]


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
def login_page(request: Request, rt: Runtime = Depends(runtime)) -> HTMLResponse:
    return page(request, "login.html", {"login_csrf": _login_token(rt)})


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

    if not _check_login_token(rt, csrf_token):
        return fail("The sign-in form expired. Please try again.", 403)
    if throttle.blocked(key):
        return fail("Too many failed attempts. Wait a few minutes and try again.", 429)
    with unit_of_work(rt.sessions) as session:
        agent = authenticate(session, email, password)
        agent_id = agent.id if agent else None
    if agent_id is None:
        throttle.fail(key)
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


@router.get("/inbox")
def inbox(
    request: Request,
    queue: str = "open",
    q: str = "",
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
) -> HTMLResponse:
    if queue not in dict(QUEUES):
        queue = "open"
    workspaces = workspace_ids_of(session, agent)
    rows = repo.inbox(
        session,
        repo.InboxFilter(
            workspace_ids=workspaces, queue=queue, agent_id=agent.id, text=q[:200] or None
        ),
    )
    return page(
        request,
        "inbox.html",
        {
            "agent": agent,
            "csrf": ws.csrf,
            "nav": "inbox",
            "queues": QUEUES,
            "queue": queue,
            "q": q,
            "rows": rows,
            "counts": repo.inbox_counts(session, workspaces, agent.id),
        },
    )


@router.get("/c/{conversation_id}")
def conversation_page(
    request: Request,
    conversation_id: int,
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
) -> HTMLResponse:
    conversation = access_conversation(session, agent, conversation_id)
    customer = session.get_one(Customer, conversation.customer_id)
    return page(
        request,
        "conversation.html",
        {
            "agent": agent,
            "csrf": ws.csrf,
            "c": conversation,
            "customer": customer,
            "messages": repo.messages_of(session, conversation.id),
            "identities": repo.identities_of(session, customer.id),
            "history": repo.conversations_of_customer(session, customer.id),
            "tz": agent.timezone,
            "client_key": secrets.token_urlsafe(12),
        },
    )


@router.post("/c/{conversation_id}/reply")
def reply(
    conversation_id: int,
    text: Annotated[str, Form(max_length=20_000)],
    csrf_token: Annotated[str, Form()] = "",
    client_key: Annotated[str, Form(max_length=80)] = "",
    private: Annotated[str, Form()] = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    check_csrf(ws, csrf_token)
    with unit_of_work(rt.sessions) as session:
        agent = session.get_one(Agent, ws.agent_id)
        conversation = access_conversation(session, agent, conversation_id)
        do_send_reply(
            session,
            rt.clock,
            conversation,
            agent,
            text,
            private=bool(private),
            client_key=client_key or None,
        )
    return RedirectResponse(f"/c/{conversation_id}", status_code=303)
