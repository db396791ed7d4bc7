"""Factories: build the records a test needs, nothing more."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from caredesk.channels.base import InboundPost
from caredesk.conversations.agents import (
    do_create_account,
    do_create_agent,
    do_create_team,
    do_create_workspace,
)
from caredesk.conversations.service import TriageView, do_record_inbound
from caredesk.kit.clock import Clock
from caredesk.models import Agent, ChannelAccount, Conversation, Team, Workspace

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def workspace(session: Session, clock: Clock, name: str | None = None) -> Workspace:
    return do_create_workspace(session, clock, name or f"Brand {next(_seq)}")


def agent(
    session: Session, clock: Clock, ws: Workspace, *, role: str = "agent", name: str = "Amira"
) -> Agent:
    n = next(_seq)
    return do_create_agent(
        session,
        clock,
        email=f"agent{n}@example.com",
        name=f"{name} {n}",
        password=PASSWORD,
        role=role,
        workspace_ids=[ws.id],
        languages=["en"],
    )


def team(session: Session, clock: Clock, ws: Workspace, kind: str = "care") -> Team:
    return do_create_team(session, clock, ws, f"{kind.title()} {next(_seq)}", kind)


def account(
    session: Session, clock: Clock, ws: Workspace, *, kind: str = "generic", **config: object
) -> ChannelAccount:
    return do_create_account(
        session,
        clock,
        ws,
        kind=kind,
        handle=f"brand{next(_seq)}",
        config=dict(config),
        secrets={"webhook_secret": "s3cret-s3cret"},
    )


def post(
    text: str = "My router died again, please help",
    *,
    external_id: str | None = None,
    author: str = "u1",
    at: datetime | None = None,
    channel: str = "generic",
    in_reply_to: str | None = None,
    private: bool = False,
) -> InboundPost:
    return InboundPost(
        channel=channel,
        external_id=external_id or f"p{next(_seq)}",
        text=text,
        author_external_id=author,
        author_handle=f"handle_{author}",
        created_at=at or datetime(2026, 11, 20, 11, 0, tzinfo=UTC),
        in_reply_to_external_id=in_reply_to,
        is_private=private,
    )


def triage(kind: str = "care", priority: str = "normal", language: str = "en") -> TriageView:
    return TriageView(
        language=language,
        sentiment="negative",
        kind=kind,
        priority=priority,
        needs_reply=True,
        reasons=("test",),
    )


def inbound(session: Session, clock: Clock, ws: Workspace, text: str, author: str) -> Conversation:
    """A customer's post five minutes after the previous one, through the real service."""
    clock.advance(minutes=5)
    return do_record_inbound(
        session, clock, ws, post(text, author=author, at=clock.now()),
        account_id=None, triage=triage(),
    ).conversation  # fmt: skip
