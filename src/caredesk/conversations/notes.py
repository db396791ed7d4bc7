"""Private notes with @mentions, who viewed what, and the timeline of a conversation (S15)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import ValidationFailed
from caredesk.models import Agent, Conversation, Customer, Event, Membership, Note

MAX_NOTE_CHARS = 10_000
VIEW_DEDUPE = timedelta(minutes=10)
# "@jane" but not the "@" inside an email address.
_MENTION = re.compile(r"(?<![\w@.])@([^\W_][\w.+-]{0,79})")


def workspace_agents(session: Session, workspace_id: int) -> list[Agent]:
    return list(
        session.execute(
            select(Agent)
            .join(Membership, Membership.agent_id == Agent.id)
            .where(Membership.workspace_id == workspace_id, Agent.is_active.is_(True))
            .order_by(Agent.id)
        ).scalars()
    )


def resolve_mentions(body: str, agents: list[Agent]) -> list[Agent]:
    """Agents named in ``body`` by email local part, full name without spaces, or a first name
    that only one colleague has. Unknown names are ignored (a note is not an error)."""
    keys: dict[str, set[int]] = {}
    for a in agents:
        local = a.email.split("@", 1)[0].casefold()
        full = re.sub(r"\s+", "", a.name).casefold()
        first = a.name.split()[0].casefold() if a.name.split() else ""
        for key in {local, full, first} - {""}:
            keys.setdefault(key, set()).add(a.id)
    by_id = {a.id: a for a in agents}
    found: list[Agent] = []
    for token in _MENTION.findall(body or ""):
        ids = keys.get(token.rstrip(".-+").casefold(), set())
        if len(ids) == 1:
            agent = by_id[next(iter(ids))]
            if agent not in found:
                found.append(agent)
    return found


def _clean_body(body: str) -> str:
    text = (body or "").strip()
    if not text:
        raise ValidationFailed("the note is empty")
    if len(text) > MAX_NOTE_CHARS:
        raise ValidationFailed(f"the note is longer than {MAX_NOTE_CHARS} characters")
    return text


def do_add_note(
    session: Session, clock: Clock, conversation: Conversation, agent: Agent, body: str
) -> Note:
    """A private note on a conversation; each mentioned colleague gets an event (a notice)."""
    return _add_note(
        session,
        clock,
        agent,
        body,
        workspace_id=conversation.workspace_id,
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
    )


def do_add_customer_note(
    session: Session, clock: Clock, customer: Customer, agent: Agent, body: str
) -> Note:
    """A note on the customer (seen on every conversation of theirs)."""
    return _add_note(
        session, clock, agent, body, workspace_id=customer.workspace_id, customer_id=customer.id
    )


def _add_note(
    session: Session,
    clock: Clock,
    agent: Agent,
    body: str,
    *,
    workspace_id: int,
    customer_id: int,
    conversation_id: int | None = None,
) -> Note:
    text = _clean_body(body)
    mentioned = resolve_mentions(text, workspace_agents(session, workspace_id))
    note = Note(
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        customer_id=customer_id,
        author_agent_id=agent.id,
        body=text,
        mentions=[a.id for a in mentioned],
        created_at=clock.now(),
    )
    session.add(note)
    session.flush()
    common: dict[str, Any] = {
        "workspace_id": workspace_id,
        "conversation_id": conversation_id,
        "actor_kind": "agent",
        "actor_agent_id": agent.id,
    }
    # A customer note's event has no conversation to point at: it names the customer.
    about = {} if conversation_id is not None else {"customer_id": customer_id}
    record(
        session,
        clock,
        name=E.NOTE_ADDED,
        payload={"note_id": note.id, **about, "mentions": note.mentions},
        **common,
    )
    for colleague in mentioned:
        record(
            session,
            clock,
            name=E.AGENT_MENTIONED,
            payload={"note_id": note.id, "mentioned_agent_id": colleague.id},
            **common,
        )
    return note


def notes_of(session: Session, conversation_id: int) -> list[Note]:
    return list(
        session.execute(
            select(Note)
            .where(Note.conversation_id == conversation_id)
            .order_by(Note.created_at, Note.id)
        ).scalars()
    )


def do_mark_viewed(
    session: Session, clock: Clock, conversation: Conversation, agent: Agent
) -> bool:
    """Record that ``agent`` opened the conversation (at most once per 10 minutes each)."""
    now = clock.now()
    recent = session.execute(
        select(Event.id)
        .where(
            Event.conversation_id == conversation.id,
            Event.name == str(E.VIEWED),
            Event.actor_agent_id == agent.id,
            Event.occurred_at > now - VIEW_DEDUPE,
        )
        .limit(1)
    ).first()
    if recent is not None:
        return False
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.VIEWED,
        actor_kind="agent",
        actor_agent_id=agent.id,
        live=False,
    )
    return True


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    at: datetime
    name: str
    actor_kind: str
    actor_agent_id: int | None
    actor_name: str | None
    payload: dict[str, Any]


def timeline(
    session: Session,
    conversation_id: int,
    *,
    limit: int = 1000,
    exclude: tuple[str, ...] = (),
) -> list[TimelineEntry]:
    """The conversation's events, oldest first, with who did it: the newest ``limit`` of them
    (a long-lived conversation keeps its latest history on the page), without ``exclude``d
    names (filtered in SQL, so e.g. "viewed" marks cannot crowd out real events)."""
    stmt = (
        select(Event, Agent.name)
        .outerjoin(Agent, Agent.id == Event.actor_agent_id)
        .where(Event.conversation_id == conversation_id)
    )
    if exclude:
        stmt = stmt.where(Event.name.not_in(exclude))
    rows = session.execute(
        stmt.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(max(1, min(limit, 5000)))
    ).all()
    return [
        TimelineEntry(
            e.id, e.occurred_at, e.name, e.actor_kind, e.actor_agent_id, name, dict(e.payload)
        )
        for e, name in reversed(rows)
    ]
