"""One customer across channels, and the identities that point at them."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.kit.db import Base
from caredesk.models._types import PK, UTC, Json, JsonList, fk_id


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[JsonList]
    contact_details: Mapped[Json]
    notes: Mapped[str] = mapped_column(Text, default="")
    # Set when merged into another customer; the history moves, this row stays for audit.
    merged_into_id: Mapped[int | None] = fk_id("customers.id", nullable=True)
    created_at: Mapped[UTC]
    updated_at: Mapped[UTC]


class Identity(Base):
    """A handle/address on one channel. Unique per workspace: two brands may share a customer."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("workspace_id", "channel", "external_id"),)

    id: Mapped[PK]
    workspace_id: Mapped[int] = fk_id("workspaces.id", ondelete="CASCADE")
    customer_id: Mapped[int] = fk_id("customers.id", ondelete="CASCADE")
    channel: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str | None] = mapped_column(String(200), nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    followers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[UTC]
