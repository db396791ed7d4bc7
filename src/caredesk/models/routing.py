"""SLA policies and routing rules."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, Json, fk_id


class SlaPolicy(Base):
    __tablename__ = "sla_policies"

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    team_id: Mapped[int | None] = fk_id("teams.id", nullable=True)
    priority: Mapped[str | None] = mapped_column(String(10), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(30), nullable=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer, default=60)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    business_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    near_breach_ratio: Mapped[float] = mapped_column(Float, default=0.8)
    auto_ack_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[UTC]


class RoutingRule(Base):
    __tablename__ = "routing_rules"

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # {"channel": ..., "language": ..., "keyword": ..., "priority": ..., "vip": ...}
    condition: Mapped[Json]
    target_team_id: Mapped[int] = fk_id("teams.id")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[UTC]
