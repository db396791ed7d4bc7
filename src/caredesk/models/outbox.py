"""The outbox: a reply is a row first, delivered after commit, never posted twice."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, Json, UTCOpt, fk_id

OUTBOX_STATES = ("queued", "sending", "sent", "failed")


class OutboxItem(Base):
    __tablename__ = "outbox_items"
    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    conversation_id: Mapped[int] = fk_id("conversations.id", ondelete="CASCADE")
    message_id: Mapped[int] = fk_id("messages.id", ondelete="CASCADE")
    channel: Mapped[str] = mapped_column(String(30))
    channel_account_id: Mapped[int | None] = fk_id("channel_accounts.id", nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    # OutboundReply fields as JSON, so delivery needs nothing but this row.
    payload: Mapped[Json]
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[UTC]
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[UTC]
    sent_at: Mapped[UTCOpt]
