"""Agents' corrections of triage, and the per-workspace model built from them."""

from __future__ import annotations

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, Json, fk_id


class TriageCorrection(Base):
    __tablename__ = "triage_corrections"

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    message_id: Mapped[int | None] = fk_id("messages.id", nullable=True)
    agent_id: Mapped[int | None] = fk_id("agents.id", nullable=True)
    field: Mapped[str] = mapped_column(String(20))  # kind | intent | sentiment | priority
    old_value: Mapped[str | None] = mapped_column(String(40), nullable=True)
    new_value: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[UTC]


class TriageModel(Base):
    __tablename__ = "triage_models"

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    report: Mapped[Json]
    created_at: Mapped[UTC]
