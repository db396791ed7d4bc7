"""Rollups of the event log that reports read (kept up to date by ``analytics.rollup``).

They are projections: every row can be rebuilt from the ``events`` table, never from the current
state of conversations. Two grains: one row per conversation (times, outcomes, dimensions) and
one row per UTC hour and dimension combination (inbound volume for the heat map).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base, UTCDateTime
from caredesk.models._types import PK, BigId, UTCOpt


class ReportConversation(Base):
    """What the event log says about one conversation, folded in event order."""

    __tablename__ = "report_conversations"
    __table_args__ = (
        Index("ix_report_conversations_ws_start", "workspace_id", "started_at"),
        # Exact percentiles walk these in value order (``analytics.figures``).
        Index("ix_report_conversations_ws_frt", "workspace_id", "first_response_s", "started_at"),
        Index(
            "ix_report_conversations_ws_bfrt",
            "workspace_id",
            "first_response_business_s",
            "started_at",
        ),
        Index("ix_report_conversations_ws_ack", "workspace_id", "auto_ack_s", "started_at"),
        Index("ix_report_conversations_ws_res", "workspace_id", "resolution_s", "started_at"),
    )

    id: Mapped[PK]
    # No foreign keys: a projection must not block deleting or archiving its sources.
    conversation_id: Mapped[int] = mapped_column(BigId, unique=True)
    workspace_id: Mapped[int] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(30), default="")
    kind: Mapped[str] = mapped_column(String(12), default="care")
    language: Mapped[str] = mapped_column(String(8), default="")  # "" = unknown
    team_id: Mapped[int] = mapped_column(BigId, default=0)  # 0 = no team
    agent_id: Mapped[int] = mapped_column(BigId, default=0)  # handling agent, 0 = none
    brand_account_id: Mapped[int] = mapped_column(BigId, default=0)  # first replying account
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    # First inbound customer message, or the opening if no inbound message is known yet.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    inbound_messages: Mapped[int] = mapped_column(Integer, default=0)
    brand_replies: Mapped[int] = mapped_column(Integer, default=0)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_response_agent_id: Mapped[int] = mapped_column(BigId, default=0)
    first_response_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    first_response_business_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    auto_ack_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    handle_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    handle_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[bool] = mapped_column(Boolean, default=False)
    abandon_reason: Mapped[str] = mapped_column(String(200), default="")
    csat_score: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    sla_first_response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    sla_next_response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    sla_resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_ups_scheduled: Mapped[int] = mapped_column(Integer, default=0)
    follow_ups_done: Mapped[int] = mapped_column(Integer, default=0)
    follow_ups_missed: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[UTCOpt]


class ReportHourly(Base):
    """Inbound messages and new conversations per UTC hour (heat map, arrivals for staffing)."""

    __tablename__ = "report_hourly"
    __table_args__ = (
        Index(
            "ux_report_hourly_key",
            "workspace_id",
            "hour",
            "channel",
            "kind",
            "language",
            "team_id",
            unique=True,
        ),
    )

    id: Mapped[PK]
    workspace_id: Mapped[int] = mapped_column(BigId)
    hour: Mapped[datetime] = mapped_column(UTCDateTime())  # start of the UTC hour
    channel: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(8))
    team_id: Mapped[int] = mapped_column(BigId)
    inbound: Mapped[int] = mapped_column(BigInteger, default=0)
    opened: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportArrivalsDaily(Base):
    """``report_hourly`` summed per UTC day: volume by channel/kind/language over long periods."""

    __tablename__ = "report_arrivals_daily"
    __table_args__ = (
        Index(
            "ux_report_arrivals_daily_key",
            "workspace_id",
            "day",
            "channel",
            "kind",
            "language",
            "team_id",
            unique=True,
        ),
    )

    id: Mapped[PK]
    workspace_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[datetime] = mapped_column(UTCDateTime())  # UTC midnight
    channel: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(8))
    team_id: Mapped[int] = mapped_column(BigId)
    inbound: Mapped[int] = mapped_column(BigInteger, default=0)
    opened: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportHourlyTotal(Base):
    """``report_hourly`` summed over its dimensions: the unfiltered heat map and arrivals read
    8,760 rows a year instead of one per hour and dimension combination."""

    __tablename__ = "report_hourly_totals"
    __table_args__ = (Index("ux_report_hourly_totals_key", "workspace_id", "hour", unique=True),)

    id: Mapped[PK]
    workspace_id: Mapped[int] = mapped_column(BigId)
    hour: Mapped[datetime] = mapped_column(UTCDateTime())
    inbound: Mapped[int] = mapped_column(BigInteger, default=0)
    opened: Mapped[int] = mapped_column(BigInteger, default=0)


# Sums kept per day in ``report_daily``: outcome counts, and per duration (first response,
# first response in business hours, auto-acknowledgment, resolution) its count, sum, "within
# 1 h / 24 h" counts and, for first response and resolution, the distribution buckets.
DAILY_OUTCOMES = (
    "conversations",
    "needed_reply",
    "answered",
    "resolved",
    "reopened",
    "ever_resolved",
    "abandoned",
    "csat_responses",
    "csat_satisfied",
    "follow_ups_scheduled",
    "follow_ups_done",
    "follow_ups_missed",
    "sla_in_scope",
    "sla_first_response_breached",
    "sla_next_response_breached",
    "sla_resolution_breached",
    "handled",
    "inbound_messages",
)
DAILY_DURATIONS = {"frt": 6, "bfrt": 0, "ack": 0, "res": 6}  # name -> distribution buckets
DAILY_FLOAT_SUMS = ("csat_sum", "handle_sum", "frt_sum", "bfrt_sum", "ack_sum", "res_sum")


def daily_count_columns() -> tuple[str, ...]:
    out = list(DAILY_OUTCOMES)
    for name, buckets in DAILY_DURATIONS.items():
        out += [f"{name}_n", f"{name}_in_1h", f"{name}_in_24h"]
        out += [f"{name}_d{i}" for i in range(buckets)]
    return tuple(out)


class ReportDaily(Base):
    """Mergeable sums over ``report_conversations`` per UTC day (of ``started_at``) and
    dimension combination, so a year's report adds up hundreds of rows per day instead of
    reading every conversation. Kept in step by ``analytics.daily`` (deltas per write)."""

    __tablename__ = "report_daily"
    __table_args__ = (
        Index(
            "ux_report_daily_key",
            "workspace_id",
            "day",
            "team_id",
            "channel",
            "kind",
            "language",
            "brand_account_id",
            unique=True,
        ),
    )

    id: Mapped[PK]
    workspace_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[datetime] = mapped_column(UTCDateTime())  # UTC midnight
    team_id: Mapped[int] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(8))
    brand_account_id: Mapped[int] = mapped_column(BigId)


for _name in daily_count_columns():
    setattr(ReportDaily, _name, mapped_column(_name, BigInteger, default=0, nullable=False))
for _name in DAILY_FLOAT_SUMS:
    setattr(ReportDaily, _name, mapped_column(_name, Float, default=0.0, nullable=False))
