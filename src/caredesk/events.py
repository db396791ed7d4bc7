"""Event names and the one way to record them.

Every state change appends an :class:`~caredesk.models.Event`. The event row is written in the
same transaction as the change; the live notice to agents goes out only after commit.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from caredesk.kit.clock import Clock
from caredesk.kit.db import on_commit
from caredesk.kit.pubsub import get_broker
from caredesk.models import Event


class E(StrEnum):
    INBOX_RECEIVED = "inbox.received"
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_QUEUED = "message.queued"
    MESSAGE_SENT = "message.sent"
    MESSAGE_FAILED = "message.failed"
    CONVERSATION_OPENED = "conversation.opened"
    CONVERSATION_CONTINUED = "conversation.continued"
    CONVERSATION_REOPENED = "conversation.reopened"
    STATUS_CHANGED = "conversation.status_changed"
    ASSIGNED = "conversation.assigned"
    TRANSFERRED = "conversation.transferred"
    TRIAGED = "conversation.triaged"
    TRIAGE_CORRECTED = "triage.corrected"
    TRIAGE_RETRAINED = "triage.retrained"
    FIRST_RESPONSE = "conversation.first_response"
    ACKNOWLEDGED = "conversation.acknowledged"
    NOTE_ADDED = "note.added"
    VIEWED = "conversation.viewed"
    RESOLVED = "conversation.resolved"
    CLOSED = "conversation.closed"
    SLA_NEAR_BREACH = "sla.near_breach"
    SLA_BREACHED = "sla.breached"
    ESCALATED = "conversation.escalated"
    ABANDONED = "conversation.abandoned"
    FOLLOW_UP_SCHEDULED = "follow_up.scheduled"
    FOLLOW_UP_DONE = "follow_up.done"
    FOLLOW_UP_MISSED = "follow_up.missed"
    CSAT_SENT = "csat.sent"
    CSAT_ANSWERED = "csat.answered"
    CUSTOMER_MERGED = "customer.merged"
    CUSTOMER_SPLIT = "customer.split"
    # Replies stage (canned responses, guidelines, moving to private, knowledge base).
    CANNED_SAVED = "canned.saved"
    CANNED_DELETED = "canned.deleted"
    CANNED_USED = "canned.used"
    CANNED_STARTER_INSTALLED = "canned.starter_installed"
    GUIDELINES_CHANGED = "team.guidelines_changed"
    GUIDELINE_OVERRIDDEN = "reply.guideline_overridden"
    MOVED_TO_PRIVATE = "conversation.moved_to_private"
    CONTACT_DETAILS_SAVED = "customer.contact_details_saved"
    KB_ARTICLE_SAVED = "kb.article_saved"
    # Conversations and routing (issue 5).
    CUSTOMER_UPDATED = "customer.updated"
    AGENT_MENTIONED = "note.mentioned"
    UNASSIGNED = "conversation.unassigned"
    QUEUED = "conversation.queued"
    SNOOZED = "conversation.snoozed"
    WOKEN = "conversation.woken"
    SLA_APPLIED = "sla.applied"
    # Triage (or a correction) says no reply is needed: running clocks stop.
    SLA_STOPPED = "sla.stopped"
    AUTO_ACK_REQUESTED = "conversation.auto_ack_requested"
    FOLLOW_UP_CANCELLED = "follow_up.cancelled"
    PRESENCE_CHANGED = "agent.presence_changed"
    TEAM_UPDATED = "team.updated"
    ROUTING_RULE_SAVED = "routing.rule_saved"
    SLA_POLICY_SAVED = "sla.policy_saved"
    # Admin pages (issue 7): a setting changed; payload names the resource and id.
    ADMIN_CHANGED = "admin.changed"
    # Listening (issue 3).
    LISTENING_RULE_SAVED = "listening.rule_saved"
    LISTENING_RULE_DELETED = "listening.rule_deleted"
    BRAND_TERMS_CHANGED = "listening.brand_terms_changed"


def record(
    session: Session,
    clock: Clock,
    *,
    workspace_id: int,
    name: E,
    conversation_id: int | None = None,
    actor_kind: str = "system",
    actor_agent_id: int | None = None,
    payload: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    live: bool = True,
) -> Event:
    now = clock.now()
    event = Event(
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        name=str(name),
        actor_kind=actor_kind,
        actor_agent_id=actor_agent_id,
        payload=payload or {},
        occurred_at=occurred_at or now,
        recorded_at=now,
    )
    session.add(event)
    if live:
        notice: dict[str, Any] = {
            "event": str(name),
            "workspace_id": workspace_id,
            "conversation_id": conversation_id,
            "actor_agent_id": actor_agent_id,
        }
        if payload and "message_id" in payload:
            notice["message_id"] = payload["message_id"]

        def publish() -> None:
            # The id (known once flushed) lets an open page tell a change it already shows
            # from one made after it was rendered.
            identity = inspect(event).identity
            notice["id"] = identity[0] if identity else None
            get_broker().publish(notice)

        on_commit(session, publish)
    return event
