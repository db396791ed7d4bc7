"""Canned responses, knowledge base articles."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, JsonList, fk_id


class CannedResponse(Base):
    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("workspace_id", "shortcut"),)

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    team_id: Mapped[int | None] = fk_id("teams.id", nullable=True)
    name: Mapped[str] = mapped_column(String(120))
    shortcut: Mapped[str] = mapped_column(String(40))
    tags: Mapped[JsonList]
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[UTC]


class CannedVariant(Base):
    __tablename__ = "canned_variants"
    __table_args__ = (UniqueConstraint("canned_response_id", "language"),)

    id: Mapped[PK]
    canned_response_id: Mapped[int] = fk_id("canned_responses.id", ondelete="CASCADE")
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)


class KbArticle(Base):
    __tablename__ = "kb_articles"
    __table_args__ = (Index("uq_kb_articles_workspace_slug", "workspace_id", "slug", unique=True),)

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    title: Mapped[str] = mapped_column(String(300))
    # Stable name for template links: {{ kb('refund-policy') }}.
    slug: Mapped[str | None] = mapped_column(String(120), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    source_conversation_id: Mapped[int | None] = fk_id("conversations.id", nullable=True)
    created_at: Mapped[UTC]
    updated_at: Mapped[UTC]
