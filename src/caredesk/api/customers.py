"""JSON API for customers (S17): the full profile, contact details, notes, merge and split."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.conversations.access import access_customer
from caredesk.conversations.customers import (
    customer_profile,
    do_merge_customers,
    do_split_customer,
    do_update_customer,
)
from caredesk.conversations.notes import do_add_customer_note
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.models import Agent, Customer, Note

router = APIRouter(prefix="/api/v1", tags=["customers"])


class CustomerOut(BaseModel):
    id: int
    workspace_id: int
    display_name: str
    email: str | None
    phone: str | None
    language: str | None
    vip: bool
    tags: list[Any]
    contact_details: dict[str, Any]
    merged_into_id: int | None

    @classmethod
    def of(cls, c: Customer) -> CustomerOut:
        return cls.model_validate(c, from_attributes=True)


class IdentityOut(BaseModel):
    id: int
    channel: str
    external_id: str
    handle: str | None
    display_name: str | None
    followers: int | None
    verified: bool


class ConversationBrief(BaseModel):
    id: int
    reference: str
    status: str
    channel: str
    kind: str
    assignee_id: int | None
    last_message_at: datetime


class NoteOut(BaseModel):
    id: int
    conversation_id: int | None
    customer_id: int | None
    author_agent_id: int
    body: str
    mentions: list[Any]
    created_at: datetime

    @classmethod
    def of(cls, n: Note) -> NoteOut:
        return cls.model_validate(n, from_attributes=True)


class ProfileOut(BaseModel):
    customer: CustomerOut
    identities: list[IdentityOut]
    conversations: list[ConversationBrief]
    notes: list[NoteOut]


class MergeIn(BaseModel):
    into_customer_id: int


class SplitIn(BaseModel):
    identity_ids: list[int] = Field(min_length=1, max_length=100)
    display_name: str | None = Field(default=None, max_length=200)


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)


def _profile(session: Session, customer: Customer) -> ProfileOut:
    p = customer_profile(session, customer)
    return ProfileOut(
        customer=CustomerOut.of(p.customer),
        identities=[IdentityOut.model_validate(i, from_attributes=True) for i in p.identities],
        conversations=[
            ConversationBrief.model_validate(c, from_attributes=True) for c in p.conversations
        ],
        notes=[NoteOut.of(n) for n in p.notes],
    )


@router.get("/customers/{customer_id}", response_model=ProfileOut)
def get_customer(
    customer_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> ProfileOut:
    """Every conversation, note and contact detail, so the customer never repeats themselves."""
    return _profile(session, access_customer(session, agent, customer_id))


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
def patch_customer(
    customer_id: int,
    body: dict[str, Any],
    request: Request,
    ws: WebSession = Depends(web_session),
) -> CustomerOut:
    def go(session: Session, me: Agent) -> CustomerOut:
        customer = access_customer(session, me, customer_id)
        do_update_customer(session, runtime(request).clock, customer, agent=me, changes=body)
        return CustomerOut.of(customer)

    return write_as_agent(request, ws, go)


@router.post("/customers/{customer_id}/merge", response_model=ProfileOut)
def post_merge(
    customer_id: int, body: MergeIn, request: Request, ws: WebSession = Depends(web_session)
) -> ProfileOut:
    """Merge this customer into ``into_customer_id``; the history moves with it."""

    def go(session: Session, me: Agent) -> ProfileOut:
        source = access_customer(session, me, customer_id)
        target = access_customer(session, me, body.into_customer_id)
        do_merge_customers(session, runtime(request).clock, source, target, agent=me)
        return _profile(session, target)

    return write_as_agent(request, ws, go)


@router.post("/customers/{customer_id}/split", response_model=ProfileOut, status_code=201)
def post_split(
    customer_id: int, body: SplitIn, request: Request, ws: WebSession = Depends(web_session)
) -> ProfileOut:
    """Move identities (and the conversations they opened) to a new customer."""

    def go(session: Session, me: Agent) -> ProfileOut:
        customer = access_customer(session, me, customer_id)
        new = do_split_customer(
            session,
            runtime(request).clock,
            customer,
            body.identity_ids,
            agent=me,
            display_name=body.display_name,
        )
        return _profile(session, new)

    return write_as_agent(request, ws, go)


@router.post("/customers/{customer_id}/notes", response_model=NoteOut, status_code=201)
def post_customer_note(
    customer_id: int, body: NoteIn, request: Request, ws: WebSession = Depends(web_session)
) -> NoteOut:
    def go(session: Session, me: Agent) -> NoteOut:
        customer = access_customer(session, me, customer_id)
        return NoteOut.of(
            do_add_customer_note(session, runtime(request).clock, customer, me, body.body)
        )

    return write_as_agent(request, ws, go)
