"""Agents (people who log in) and their workspace memberships."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, JsonList, UTCOpt, fk_id

ROLES = ("agent", "supervisor", "admin")
PRESENCE = ("online", "away", "offline")


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[PK]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    # Highest role; per-workspace roles live on Membership.
    role: Mapped[str] = mapped_column(String(20), default="agent")
    languages: Mapped[JsonList]
    channels: Mapped[JsonList]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    ui_language: Mapped[str] = mapped_column(String(8), default="en")
    capacity: Mapped[int] = mapped_column(Integer, default=8)
    presence: Mapped[str] = mapped_column(String(10), default="offline")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[UTCOpt]
    created_at: Mapped[UTC]


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("agent_id", "workspace_id"),)

    id: Mapped[PK]
    agent_id: Mapped[int] = fk_id("agents.id", ondelete="CASCADE")
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    role: Mapped[str] = mapped_column(String(20), default="agent")
