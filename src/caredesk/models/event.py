"""The append-only event log: who did what, when, to which conversation."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, Json, fk_id


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_ws_time", "workspace_id", "occurred_at"),
        Index("ix_events_ws_name_time", "workspace_id", "name", "occurred_at"),
    )

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    conversation_id: Mapped[int | None] = fk_id("conversations.id", nullable=True)
    name: Mapped[str] = mapped_column(String(60))
    # agent | system | customer | import
    actor_kind: Mapped[str] = mapped_column(String(12), default="system")
    actor_agent_id: Mapped[int | None] = fk_id("agents.id", nullable=True)
    payload: Mapped[Json]
    # When it happened (original time for imported history) and when we wrote it down.
    occurred_at: Mapped[UTC]
    recorded_at: Mapped[UTC]
