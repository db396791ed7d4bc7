"""Queries of the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caredesk.models import Event, OutboxItem


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


def by_message(session: Session, message_id: int) -> OutboxItem | None:
    return session.execute(
        select(OutboxItem).where(OutboxItem.message_id == message_id)
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


def asked_for_contact_details(session: Session, conversation_id: int) -> bool:
    """Whether an agent moved this conversation to private (and so asked for details)."""
    return (
        session.execute(
            select(Event.id)
            .where(
                Event.conversation_id == conversation_id,
                Event.name == "conversation.moved_to_private",
            )
            .limit(1)
        ).first()
        is not None
    )


def claim(session: Session, item: OutboxItem, lease_until: datetime) -> bool:
    """Mark the item as being sent, only if nobody changed it since we read it."""
    result = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id == item.id,
            OutboxItem.state == item.state,
            OutboxItem.attempts == item.attempts,
        )
        .values(state="sending", next_attempt_at=lease_until, attempts=OutboxItem.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
