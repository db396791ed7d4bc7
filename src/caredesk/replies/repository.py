"""Queries of the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.models import OutboxItem


def get_item(session: Session, item_id: int, *, lock: bool = False) -> OutboxItem | None:
    stmt = select(OutboxItem).where(OutboxItem.id == item_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        # Two workers picking the same row: the second skips instead of double-sending.
        stmt = stmt.with_for_update(skip_locked=True)
    return session.execute(stmt).scalar_one_or_none()


def by_key(session: Session, key: str) -> OutboxItem | None:
    return session.execute(
        select(OutboxItem).where(OutboxItem.idempotency_key == key)
    ).scalar_one_or_none()


def due_ids(session: Session, now: datetime, limit: int = 200) -> list[int]:
    return list(
        session.execute(
            select(OutboxItem.id)
            .where(OutboxItem.state.in_(("queued", "sending")), OutboxItem.next_attempt_at <= now)
            .order_by(OutboxItem.next_attempt_at)
            .limit(limit)
        ).scalars()
    )
