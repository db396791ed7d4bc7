"""Conversations (cases), their messages, notes, follow-ups, resolutions and CSAT."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, Json, JsonList, JsonType, UTCOpt, fk_id

STATUSES = (
    "new",
    "acknowledged",
    "gathering_info",
    "in_progress",
    "pending",
    "snoozed",
    "solved",
    "closed",
)
OPEN_STATUSES = ("new", "acknowledged", "gathering_info", "in_progress", "pending", "snoozed")
PRIORITIES = ("urgent", "high", "normal", "low")
KINDS = ("care", "sales", "engagement", "noise")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "number"),
        Index("ix_conversations_queue", "workspace_id", "status", "last_message_at"),
        # Inbox queues read page ids from the index alone (status, recency and workspace are
        # in it), then load 50 rows: "mine", "unassigned" and "my team" at a million rows.
        Index(
            "ix_conversations_assignee", "assignee_id", "status", "last_message_at", "workspace_id"
        ),
        Index("ix_conversations_team", "team_id", "status", "last_message_at", "workspace_id"),
        # The timer sweeper reads only rows whose next SLA/snooze/auto-ack moment has come.
        Index("ix_conversations_timer_due", "timer_due_at"),
        # "Sort the queue by time left": the earliest unmet SLA due time.
        Index(
            "ix_conversations_sla_due", "workspace_id", "sla_due_at", "status", "last_message_at"
        ),
        # "Everything" and search results, newest first, without sorting the whole workspace.
        Index("ix_conversations_recent", "workspace_id", "last_message_at"),
        # "Sales leads": open conversations of one kind, found and counted by index.
        Index("ix_conversations_kind", "workspace_id", "kind", "status", "last_message_at"),
    )

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    number: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int] = fk_id("customers.id")
    channel: Mapped[str] = mapped_column(String(30))
    channel_account_id: Mapped[int | None] = fk_id("channel_accounts.id", nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="new")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    kind: Mapped[str] = mapped_column(String(12), default="care")
    intent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    sentiment: Mapped[str | None] = mapped_column(String(10), nullable=True)
    needs_reply: Mapped[bool] = mapped_column(Boolean, default=True)
    triage_reasons: Mapped[JsonList]
    team_id: Mapped[int | None] = fk_id("teams.id", nullable=True)
    assignee_id: Mapped[int | None] = fk_id("agents.id", nullable=True)
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    unaddressed: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[JsonList]
    # The thread root's external id, to attach replies in a chain to this conversation.
    thread_root: Mapped[str | None] = mapped_column(String(300), nullable=True, index=True)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    first_inbound_at: Mapped[UTCOpt]
    first_response_at: Mapped[UTCOpt]
    acknowledged_at: Mapped[UTCOpt]
    last_inbound_at: Mapped[UTCOpt]
    last_outbound_at: Mapped[UTCOpt]
    last_message_at: Mapped[UTC]
    solved_at: Mapped[UTCOpt]
    closed_at: Mapped[UTCOpt]
    snoozed_until: Mapped[UTCOpt]
    sla_policy_id: Mapped[int | None] = fk_id("sla_policies.id", nullable=True)
    first_response_due_at: Mapped[UTCOpt]
    next_response_due_at: Mapped[UTCOpt]
    resolution_due_at: Mapped[UTCOpt]
    sla_state: Mapped[Json]
    # Next moment the timer sweeper must look at this row (null: nothing scheduled).
    timer_due_at: Mapped[UTCOpt]
    # Earliest unmet SLA due time (first/next response, resolution); null when none runs.
    sla_due_at: Mapped[UTCOpt]
    abandoned_at: Mapped[UTCOpt]
    abandon_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    escalated_at: Mapped[UTCOpt]
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[UTC]
    updated_at: Mapped[UTC]


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel", "external_id"),
        Index("ix_messages_conversation", "conversation_id", "created_at"),
        # Full-text search lives outside the model (migration b7e4c2d9a813): the FTS5 table
        # "messages_fts" on SQLite, a GIN index over to_tsvector('simple', text) on PostgreSQL.
    )

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    conversation_id: Mapped[int] = fk_id("conversations.id", ondelete="CASCADE")
    channel: Mapped[str] = mapped_column(String(30))
    # Null for an outbound reply until the network gives it an id.
    external_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    author_identity_id: Mapped[int | None] = fk_id("identities.id", nullable=True)
    author_agent_id: Mapped[int | None] = fk_id("agents.id", nullable=True)
    author_account_id: Mapped[int | None] = fk_id("channel_accounts.id", nullable=True)
    author_label: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True)
    in_reply_to_external_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    thread_refs: Mapped[JsonList]
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    is_auto_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    # Outbound only: queued | sending | sent | failed.
    sent_state: Mapped[str | None] = mapped_column(String(10), nullable=True)
    send_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    triage: Mapped[Json]
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Outbound only: brand-voice problems the agent chose to send anyway, and why (S11).
    guideline_override: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    # Inbound only: which listening rules matched and whether the brand was named without its
    # handle ({"source", "rule_ids", "rules", "terms", "unaddressed"}); null for care posts
    # that no rule looked at.
    listening: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    created_at: Mapped[UTC]
    received_at: Mapped[UTC]


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    conversation_id: Mapped[int | None] = fk_id("conversations.id", nullable=True)
    customer_id: Mapped[int | None] = fk_id("customers.id", nullable=True)
    author_agent_id: Mapped[int] = fk_id("agents.id")
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[JsonList]
    created_at: Mapped[UTC]


class Resolution(Base):
    """Problem, cause and fix of a closed conversation: searchable by the whole team (S20)."""

    __tablename__ = "resolutions"

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    conversation_id: Mapped[int] = fk_id("conversations.id", ondelete="CASCADE")
    author_agent_id: Mapped[int | None] = fk_id("agents.id", nullable=True)
    problem: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text)
    fix: Mapped[str] = mapped_column(Text)
    created_at: Mapped[UTC]


class FollowUp(Base):
    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_due", "status", "due_at"),)

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    conversation_id: Mapped[int] = fk_id("conversations.id", ondelete="CASCADE")
    agent_id: Mapped[int] = fk_id("agents.id")
    kind: Mapped[str] = mapped_column(String(20))  # call | email | dm | sms
    due_at: Mapped[UTC]
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    done_at: Mapped[UTCOpt]
    created_at: Mapped[UTC]


class CsatResponse(Base):
    __tablename__ = "csat_responses"

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    conversation_id: Mapped[int] = fk_id("conversations.id", ondelete="CASCADE")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(30))
    score: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[UTC]
    answered_at: Mapped[UTCOpt]


class ConversationMark(Base):
    """A one-off fact about a conversation (an SLA breach fired, an abandonment marked).

    Inserting the mark is the guard that makes such events fire exactly once, even when several
    sweepers race: the unique key lets only one insert win.
    """

    __tablename__ = "conversation_marks"
    __table_args__ = (UniqueConstraint("conversation_id", "key"),)

    id: Mapped[PK]
    conversation_id: Mapped[int] = fk_id("conversations.id", ondelete="CASCADE")
    key: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[UTC]
