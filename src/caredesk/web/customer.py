"""The customer page: identities, contact details, notes, tags, conversations, CSAT; merging."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caredesk.conversations.access import access_customer
from caredesk.conversations.customers import (
    customer_profile,
    do_merge_customers,
    do_update_customer,
)
from caredesk.conversations.notes import do_add_customer_note, workspace_agents
from caredesk.httpkit.deps import current_agent, db, runtime, signed_in_agent, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import CaredeskError, Forbidden, NotFound
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, Conversation, CsatResponse, Customer, Identity
from caredesk.web.pages import check_csrf
from caredesk.web.render import page
from caredesk.web.reports import CHANNEL_NAMES

router = APIRouter(include_in_schema=False)


def merge_candidates(session: Session, customer: Customer, text: str) -> list[Customer]:
    """Other customers of the same workspace whose name, email or handle contains ``text``."""
    pattern = f"%{text.strip()[:100]}%"
    return list(
        session.execute(
            select(Customer)
            .where(
                Customer.workspace_id == customer.workspace_id,
                Customer.id != customer.id,
                Customer.merged_into_id.is_(None),
                or_(
                    Customer.display_name.ilike(pattern),
                    Customer.email.ilike(pattern),
                    Customer.id.in_(
                        select(Identity.customer_id).where(
                            Identity.workspace_id == customer.workspace_id,
                            Identity.handle.ilike(pattern),
                        )
                    ),
                ),
            )
            .order_by(Customer.display_name)
            .limit(10)
        ).scalars()
    )


def csat_history(session: Session, customer_id: int) -> list[tuple[CsatResponse, str]]:
    return [
        (r, ref)
        for r, ref in session.execute(
            select(CsatResponse, Conversation.reference)
            .join(Conversation, Conversation.id == CsatResponse.conversation_id)
            .where(Conversation.customer_id == customer_id)
            .order_by(CsatResponse.sent_at.desc())
            .limit(50)
        )
    ]


def _render(
    request: Request,
    session: Session,
    agent: Agent,
    ws: WebSession,
    customer: Customer,
    *,
    merge_q: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    profile = customer_profile(session, customer)
    names = {a.id: a.name for a in workspace_agents(session, customer.workspace_id)}
    scores = [r.score for r, _ in csat_history(session, customer.id) if r.score is not None]
    context: dict[str, Any] = {
        "agent": agent,
        "csrf": ws.csrf,
        "nav": "inbox",
        "customer": customer,
        "profile": profile,
        "names": names,
        "csat": csat_history(session, customer.id),
        "csat_average": round(sum(scores) / len(scores), 1) if scores else None,
        "merge_q": merge_q,
        "candidates": merge_candidates(session, customer, merge_q) if merge_q.strip() else [],
        "merged_into": session.get(Customer, customer.merged_into_id)
        if customer.merged_into_id
        else None,
        "tz": agent.timezone,
        "channel_names": CHANNEL_NAMES,
        "error": error,
    }
    return page(request, "customer.html", context, status_code=status)


@router.get("/customers/{customer_id}")
def customer_page(
    request: Request,
    customer_id: int,
    merge_q: str = "",
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
) -> Response:
    customer = access_customer(session, agent, customer_id)
    return _render(request, session, agent, ws, customer, merge_q=merge_q)


def _act(
    request: Request, rt: Runtime, ws: WebSession, customer_id: int, csrf_token: str, action: Any
) -> Response:
    check_csrf(ws, csrf_token)
    try:
        with unit_of_work(rt.sessions) as session:
            agent = signed_in_agent(session, ws)
            target = action(session, agent, access_customer(session, agent, customer_id))
            go_to = target.id if isinstance(target, Customer) else customer_id
    except (NotFound, Forbidden):
        raise
    except CaredeskError as exc:
        with rt.sessions() as session:
            agent = signed_in_agent(session, ws)
            customer = access_customer(session, agent, customer_id)
            return _render(
                request, session, agent, ws, customer, error=exc.message, status=exc.status_code
            )
    return RedirectResponse(f"/customers/{go_to}", status_code=303)


@router.post("/customers/{customer_id}/note")
def add_customer_note(
    request: Request,
    customer_id: int,
    body: Annotated[str, Form(max_length=10_000)],
    csrf_token: Annotated[str, Form()] = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def act(session: Session, agent: Agent, customer: Customer) -> object:
        return do_add_customer_note(session, rt.clock, customer, agent, body)

    return _act(request, rt, ws, customer_id, csrf_token, act)


@router.post("/customers/{customer_id}/details")
def update_details(
    request: Request,
    customer_id: int,
    display_name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    language: Annotated[str, Form(max_length=8)] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
    vip: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    changes: dict[str, Any] = {
        "email": email,
        "phone": phone,
        "language": language,
        "tags": [t.strip() for t in tags.split(",") if t.strip()],
        "vip": bool(vip),
    }
    if display_name.strip():
        changes["display_name"] = display_name

    def act(session: Session, agent: Agent, customer: Customer) -> object:
        do_update_customer(session, rt.clock, customer, agent=agent, changes=changes)
        return None

    return _act(request, rt, ws, customer_id, csrf_token, act)


@router.post("/customers/{customer_id}/merge")
def merge(
    request: Request,
    customer_id: int,
    source_id: Annotated[int, Form()],
    csrf_token: Annotated[str, Form()] = "",
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    """Merge ``source_id`` into this customer: this page's customer keeps the history."""

    def act(session: Session, agent: Agent, customer: Customer) -> object:
        source = access_customer(session, agent, source_id)
        return do_merge_customers(session, rt.clock, source, customer, agent=agent)

    return _act(request, rt, ws, customer_id, csrf_token, act)
