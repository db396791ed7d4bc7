"""Queries for customers, identities, conversations and messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import (
    Select,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from caredesk.channels.registry import threading_kinds
from caredesk.conversations.page_rows import search_excerpts

# Full-text search lives in ``conversations.search``; these names stay importable from here.
from caredesk.conversations.search import ENOUGH_CONVERSATIONS, text_search_match
from caredesk.conversations.search import SEARCH_MAX_WORDS as SEARCH_MAX_WORDS
from caredesk.conversations.search import search_words as search_words
from caredesk.conversations.search import text_search as text_search
from caredesk.conversations.search_excerpt import Excerpt
from caredesk.models import (
    Agent,
    ChannelAccount,
    Conversation,
    Customer,
    Identity,
    Message,
    Team,
    Workspace,
)
from caredesk.models.conversation import OPEN_STATUSES

# A text search returns at most this many conversations (a page), on both databases.
SEARCH_PAGE = ENOUGH_CONVERSATIONS


def get_workspace(session: Session, workspace_id: int) -> Workspace | None:
    return session.get(Workspace, workspace_id)


def workspace_by_name(session: Session, name: str) -> Workspace | None:
    return session.execute(select(Workspace).where(Workspace.name == name)).scalar_one_or_none()


def workspace_by_slug(session: Session, slug: str) -> Workspace | None:
    return session.execute(select(Workspace).where(Workspace.slug == slug)).scalar_one_or_none()


def take_conversation_number(session: Session, workspace_id: int) -> int:
    """Atomically reserve the next per-workspace conversation number."""
    number = session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(next_conversation_number=Workspace.next_conversation_number + 1)
        .returning(Workspace.next_conversation_number)
    ).scalar_one()
    return int(number) - 1


def account_by_token(session: Session, kind: str, token: str) -> ChannelAccount | None:
    return session.execute(
        select(ChannelAccount).where(
            ChannelAccount.kind == kind,
            ChannelAccount.webhook_token == token,
            ChannelAccount.is_active.is_(True),
        )
    ).scalar_one_or_none()


def account_by_handle(session: Session, kind: str, handle: str) -> ChannelAccount | None:
    return session.execute(
        select(ChannelAccount).where(ChannelAccount.kind == kind, ChannelAccount.handle == handle)
    ).scalar_one_or_none()


def accounts_of(session: Session, workspace_id: int) -> Sequence[ChannelAccount]:
    return (
        session.execute(
            select(ChannelAccount)
            .where(ChannelAccount.workspace_id == workspace_id)
            .order_by(ChannelAccount.kind, ChannelAccount.handle)
        )
        .scalars()
        .all()
    )


def find_identity(
    session: Session, workspace_id: int, channel: str, external_id: str
) -> Identity | None:
    return session.execute(
        select(Identity).where(
            Identity.workspace_id == workspace_id,
            Identity.channel == channel,
            Identity.external_id == external_id,
        )
    ).scalar_one_or_none()


def find_message(
    session: Session, workspace_id: int, channel: str, external_id: str
) -> Message | None:
    return session.execute(
        select(Message).where(
            Message.workspace_id == workspace_id,
            Message.channel == channel,
            Message.external_id == external_id,
        )
    ).scalar_one_or_none()


def find_message_any(
    session: Session, workspace_id: int, channel: str, external_ids: Sequence[str]
) -> Message | None:
    """The newest message of the workspace with one of ``external_ids``, on ``channel`` or a
    channel sharing its id namespace (an email answering a web-form reply)."""
    if not external_ids:
        return None
    return (
        session.execute(
            select(Message)
            .where(
                Message.workspace_id == workspace_id,
                Message.channel.in_(threading_kinds(channel)),
                Message.external_id.in_(list(external_ids)),
            )
            .order_by(Message.created_at.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def latest_unresolved_for_customer(
    session: Session,
    workspace_id: int,
    customer_id: int,
    since: datetime,
    *,
    channel: str | None = None,
) -> Conversation | None:
    # Solved still waits for the customer's confirmation (S20): writing again reopens it.
    stmt = select(Conversation).where(
        Conversation.workspace_id == workspace_id,
        Conversation.customer_id == customer_id,
        Conversation.status.in_((*OPEN_STATUSES, "solved")),
        Conversation.last_message_at >= since,
    )
    if channel is not None:
        stmt = stmt.where(Conversation.channel == channel)
    return (
        session.execute(stmt.order_by(Conversation.last_message_at.desc()).limit(1))
        .scalars()
        .first()
    )


def get_conversation(session: Session, conversation_id: int) -> Conversation | None:
    return session.get(Conversation, conversation_id)


def messages_of(session: Session, conversation_id: int) -> Sequence[Message]:
    return (
        session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.created_at, Message.id)
        )
        .scalars()
        .all()
    )


def conversations_of_customer(session: Session, customer_id: int) -> Sequence[Conversation]:
    return (
        session.execute(
            select(Conversation)
            .where(Conversation.customer_id == customer_id)
            .order_by(Conversation.last_message_at.desc())
        )
        .scalars()
        .all()
    )


def identities_of(session: Session, customer_id: int) -> Sequence[Identity]:
    return (
        session.execute(select(Identity).where(Identity.customer_id == customer_id)).scalars().all()
    )


@dataclass(frozen=True)
class InboxRow:
    conversation: Conversation
    customer_name: str
    assignee_name: str | None
    team_name: str | None
    preview: str
    # For a text search: the newest message that matched, cut around its first hit.
    excerpt: Excerpt | None = None


@dataclass(frozen=True)
class InboxFilter:
    workspace_ids: tuple[int, ...]
    queue: str = "all"  # all | mine | unassigned | sales | open | closed
    agent_id: int | None = None
    status: str | None = None
    channel: str | None = None
    language: str | None = None
    kind: str | None = None
    priority: str | None = None
    text: str | None = None
    limit: int = 50
    offset: int = 0


_PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def _inbox_query(f: InboxFilter, session: Session) -> tuple[Select[Conversation], dict[int, int]]:
    """The conversations, and for a text search each one's newest matching message id."""
    stmt = select(Conversation).where(Conversation.workspace_id.in_(f.workspace_ids))
    if f.queue == "mine" and f.agent_id is not None:
        stmt = stmt.where(
            Conversation.assignee_id == f.agent_id, Conversation.status.in_(OPEN_STATUSES)
        )
    elif f.queue == "unassigned":
        stmt = stmt.where(
            Conversation.assignee_id.is_(None), Conversation.status.in_(OPEN_STATUSES)
        )
    elif f.queue == "sales":
        stmt = stmt.where(Conversation.kind == "sales", Conversation.status.in_(OPEN_STATUSES))
    elif f.queue == "open":
        stmt = stmt.where(Conversation.status.in_(OPEN_STATUSES))
    elif f.queue == "closed":
        stmt = stmt.where(Conversation.status.in_(("solved", "closed")))
    for column, value in (
        (Conversation.status, f.status),
        (Conversation.channel, f.channel),
        (Conversation.language, f.language),
        (Conversation.kind, f.kind),
        (Conversation.priority, f.priority),
    ):
        if value:
            stmt = stmt.where(column == value)
    if f.text and f.text.strip():
        match = text_search_match(session, f.workspace_ids, f.text, within=stmt)
        return stmt.where(match.condition), match.message_ids
    return stmt, {}


def _pairs(session: Session, stmt: Select[int, str]) -> dict[int, str]:
    return {key: value for key, value in session.execute(stmt)}


def inbox(session: Session, f: InboxFilter) -> list[InboxRow]:
    stmt, matched = _inbox_query(f, session)
    stmt = stmt.order_by(Conversation.last_message_at.desc()).limit(f.limit)
    rows = inbox_rows(session, session.execute(stmt.offset(f.offset)).scalars().all())
    if not matched or not rows:
        return rows
    found = search_excerpts(session, [r.conversation.id for r in rows], matched, f.text or "")
    return [replace(r, excerpt=found.get(r.conversation.id)) for r in rows]


def inbox_rows(
    session: Session,
    conversations: Sequence[Conversation],
    *,
    preview_direction: str | None = None,
) -> list[InboxRow]:
    """Rows for a page of conversations: names of customer, assignee and team, and the text
    of the newest message (of ``preview_direction`` "in"/"out" when given), in four queries."""
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    customers = _pairs(
        session,
        select(Customer.id, Customer.display_name).where(
            Customer.id.in_({c.customer_id for c in conversations})
        ),
    )
    agent_ids = {c.assignee_id for c in conversations if c.assignee_id}
    agents = (
        _pairs(session, select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids)))
        if agent_ids
        else {}
    )
    team_ids = {c.team_id for c in conversations if c.team_id}
    teams = (
        _pairs(session, select(Team.id, Team.name).where(Team.id.in_(team_ids))) if team_ids else {}
    )
    # The newest message per conversation, in one query.
    newest_q = select(Message.conversation_id, func.max(Message.id).label("mid")).where(
        Message.conversation_id.in_(ids)
    )
    if preview_direction is not None:
        newest_q = newest_q.where(Message.direction == preview_direction)
    newest = newest_q.group_by(Message.conversation_id).subquery()
    previews = _pairs(
        session,
        select(Message.conversation_id, Message.text).join(newest, Message.id == newest.c.mid),
    )
    return [
        InboxRow(
            conversation=c,
            customer_name=customers.get(c.customer_id, "?"),
            assignee_name=agents.get(c.assignee_id) if c.assignee_id else None,
            team_name=teams.get(c.team_id) if c.team_id else None,
            preview=(previews.get(c.id) or "")[:200],
        )
        for c in conversations
    ]
