"""The durable inbox: every received post, committed before we acknowledge it."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, Json, UTCOpt, fk_id

INBOX_STATES = ("received", "processed", "unmatched", "failed")


class InboxItem(Base):
    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_inbox_state", "state", "received_at"),
    )

    id: Mapped[PK]
    channel: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(300))
    channel_account_id: Mapped[int | None] = fk_id("channel_accounts.id", nullable=True)
    # The normalised post (InboundPost as JSON) and the raw payload it came from.
    post: Mapped[Json]
    raw: Mapped[Json]
    state: Mapped[str] = mapped_column(String(12), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[UTC]
    processed_at: Mapped[UTCOpt]


class Counter(Base):
    """Monotonic counters (duplicates absorbed, unmatched posts, rejections) per day."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("name", "day"),)

    id: Mapped[PK]
    name: Mapped[str] = mapped_column(String(120))
    day: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(BigInteger, default=0)
