"""A workspace is one brand: its teams, channel accounts and poll cursors."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, Json, JsonList, SealedJsonCol, UTCOpt, fk_id

TEAM_KINDS = ("care", "sales", "engagement", "other")
ACCOUNT_ROLES = ("care", "marketing", "agent")


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[PK]
    name: Mapped[str] = mapped_column(String(120), unique=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    reference_prefix: Mapped[str] = mapped_column(String(8), default="CD")
    next_conversation_number: Mapped[int] = mapped_column(Integer, default=1)
    # Per-workspace knobs (threading window, priority rules...), validated by their owners.
    settings: Mapped[Json]
    created_at: Mapped[UTC]


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), default="care")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # kit.business_hours schedule as a dict; empty = open all the time.
    business_hours: Mapped[Json]
    holidays: Mapped[JsonList]
    languages: Mapped[JsonList]
    # "reassign" | "flag_supervisor" when an owner misses the SLA.
    escalation_policy: Mapped[str] = mapped_column(String(30), default="flag_supervisor")
    # "least_loaded" | "round_robin"; the round-robin cursor is the last agent picked.
    assignment_strategy: Mapped[str] = mapped_column(String(20), default="least_loaded")
    rr_last_agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    guidelines: Mapped[Json]
    deleted_at: Mapped[UTCOpt]
    created_at: Mapped[UTC]


class TeamMember(Base):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "agent_id"),)

    id: Mapped[PK]
    team_id: Mapped[int] = fk_id("teams.id", ondelete="CASCADE")
    agent_id: Mapped[int] = fk_id("agents.id", ondelete="CASCADE")
    is_backup: Mapped[bool] = mapped_column(Boolean, default=False)


class ChannelAccount(Base):
    """A brand's presence on one network: a handle, a page, a mailbox, a form."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("kind", "handle"),)

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    kind: Mapped[str] = mapped_column(String(30))
    handle: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="care")
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team_id: Mapped[int | None] = fk_id("teams.id", nullable=True, ondelete="SET NULL")
    # Non-secret settings (api_base_url, page id...); secrets (tokens, passwords) sealed at rest.
    config: Mapped[Json]
    secrets: Mapped[SealedJsonCol]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[UTC]


class PollCursor(Base):
    __tablename__ = "poll_cursors"
    __table_args__ = (UniqueConstraint("channel_account_id", "stream"),)

    id: Mapped[PK]
    channel_account_id: Mapped[int] = fk_id("channel_accounts.id", ondelete="CASCADE")
    stream: Mapped[str] = mapped_column(String(60))
    cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_polled_at: Mapped[UTCOpt]
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When the next poll is due: later after a rate limit (Retry-After) or repeated failures.
    next_poll_at: Mapped[UTCOpt]
    failures: Mapped[int] = mapped_column(Integer, default=0)
