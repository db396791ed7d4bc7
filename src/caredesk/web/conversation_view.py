"""What the conversation page shows, gathered read-only in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.conversations import page_rows
from caredesk.conversations import repository as repo
from caredesk.conversations.followups import KINDS as FOLLOW_UP_KINDS
from caredesk.conversations.followups import follow_ups_of
from caredesk.conversations.notes import notes_of, timeline
from caredesk.conversations.states import TRANSITIONS
from caredesk.events import E
from caredesk.models import Agent, Conversation, Customer, Message, Note, Resolution
from caredesk.replies.private import PRIVATE_VIAS
from caredesk.triage.store import CORRECTABLE


@dataclass(frozen=True)
class ThreadItem:
    at: datetime
    kind: str  # message | note
    message: Message | None = None
    note: Note | None = None
    author: str = ""


# Event names as an agent reads them in the timeline (English msgids, translated in templates).
EVENT_LABELS = {
    "conversation.opened": "Conversation opened",
    "conversation.continued": "Customer wrote again",
    "conversation.reopened": "Reopened",
    "conversation.status_changed": "Status changed",
    "conversation.assigned": "Assigned",
    "conversation.unassigned": "Unassigned",
    "conversation.transferred": "Transferred",
    "conversation.triaged": "Triaged",
    "triage.corrected": "Triage corrected",
    "conversation.first_response": "First response",
    "conversation.acknowledged": "Acknowledged",
    "note.added": "Note added",
    "note.mentioned": "Colleague mentioned",
    "conversation.resolved": "Solved",
    "conversation.closed": "Closed",
    "sla.near_breach": "SLA about to breach",
    "sla.breached": "SLA breached",
    "sla.applied": "SLA applied",
    "sla.stopped": "SLA stopped: no reply needed",
    "conversation.escalated": "Escalated",
    "conversation.moved_to_private": "Moved to private",
    "follow_up.scheduled": "Follow-up scheduled",
    "follow_up.done": "Follow-up done",
    "follow_up.missed": "Follow-up missed",
    "follow_up.cancelled": "Follow-up cancelled",
    "message.queued": "Reply queued",
    "message.sent": "Reply sent",
    "message.failed": "Reply failed",
    "message.received": "Message received",
    "csat.sent": "Satisfaction survey sent",
    "csat.answered": "Satisfaction survey answered",
    "conversation.queued": "Waiting in team queue",
    "conversation.snoozed": "Snoozed",
    "conversation.woken": "Woke from snooze",
    "reply.guideline_overridden": "Sent despite guideline warning",
}


def _detail(name: str, payload: dict[str, Any], agents: dict[int, str]) -> str:
    """A short, factual line from the event payload (never markup: escaped by the template)."""
    if name == "conversation.status_changed":
        return f"{payload.get('from', '')} → {payload.get('to', '')}".replace("_", " ")
    if name in ("conversation.assigned", "conversation.transferred"):
        to = payload.get("to_agent_id")
        return agents.get(to, "") if isinstance(to, int) else ""
    if name == "triage.corrected":
        return f"{payload.get('field')}: {payload.get('from')} → {payload.get('to')}"
    if name == "note.mentioned":
        who = payload.get("mentioned_agent_id")
        return agents.get(who, "") if isinstance(who, int) else ""
    if name == "follow_up.scheduled":
        return f"{payload.get('kind', '')} {str(payload.get('due_at', ''))[:16]}"
    if name == "conversation.moved_to_private":
        return str(payload.get("via", ""))
    return ""


def conversation_context(
    session: Session, conversation: Conversation, agent: Agent
) -> dict[str, Any]:
    customer = session.get_one(Customer, conversation.customer_id)
    colleagues = page_rows.colleagues(session, conversation.workspace_id)
    names = {a.id: a.name for a in colleagues}
    items = [
        ThreadItem(m.created_at, "message", message=m, author=m.author_label)
        for m in repo.messages_of(session, conversation.id)
    ] + [
        ThreadItem(n.created_at, "note", note=n, author=names.get(n.author_agent_id, "?"))
        for n in notes_of(session, conversation.id)
    ]
    items.sort(key=lambda i: i.at)
    # Once the talk has moved to DM/email, the next reply goes there too by default.
    outbound = [i.message for i in items if i.message is not None and i.message.direction == "out"]
    private_default = conversation.is_private or bool(outbound and outbound[-1].is_private)
    history = page_rows.earlier_conversations(session, customer.id, conversation.id, limit=10)
    first_texts = {c.id: c.last_text[:140] for c in history if c.last_text is not None}
    customer_notes = list(
        session.execute(
            select(Note)
            .where(Note.customer_id == customer.id, Note.conversation_id.is_(None))
            .order_by(Note.created_at.desc())
            .limit(20)
        ).scalars()
    )
    teams = page_rows.team_names(session, conversation.workspace_id)
    events = [
        {
            "at": e.at,
            "label": EVENT_LABELS.get(e.name, e.name),
            "actor": e.actor_name or e.actor_kind,
            "detail": _detail(e.name, e.payload, names),
        }
        for e in timeline(session, conversation.id, limit=300, exclude=(str(E.VIEWED),))
    ]
    return {
        "c": conversation,
        "customer": customer,
        "items": items,
        "private_default": private_default,
        "identities": repo.identities_of(session, customer.id),
        "history": history,
        "first_texts": first_texts,
        "customer_notes": customer_notes,
        "colleagues": colleagues,
        "names": names,
        "teams": teams,
        "team_name": next((t.name for t in teams if t.id == conversation.team_id), None),
        "events": events,
        "follow_ups": follow_ups_of(session, conversation.id),
        "closed_with": session.execute(
            select(Resolution)
            .where(Resolution.conversation_id == conversation.id)
            .order_by(Resolution.id.desc())
            .limit(1)
        ).scalar_one_or_none(),
        "follow_up_kinds": FOLLOW_UP_KINDS,
        "canned": page_rows.canned_choices(
            session, conversation.workspace_id, conversation.team_id
        ),
        "private_vias": PRIVATE_VIAS,
        "next_statuses": sorted(TRANSITIONS.get(conversation.status, frozenset()) - {"closed"}),
        "triage_fields": CORRECTABLE,
        "tz": agent.timezone,
    }
