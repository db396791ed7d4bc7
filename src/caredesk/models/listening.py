"""Listening rules: what each brand listens to."""

from __future__ import annotations

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, JsonList, fk_id


class ListeningRule(Base):
    __tablename__ = "listening_rules"

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(120))
    query: Mapped[str] = mapped_column(Text)
    brand_terms: Mapped[JsonList]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[UTC]
