"""Exactly-once guards: a unique (conversation, key) row that only one writer can insert."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from caredesk.models import ConversationMark


def claim_mark(session: Session, conversation_id: int, key: str, at: datetime) -> bool:
    """Insert the mark; True if this caller inserted it (and may fire its event).

    ``INSERT .. ON CONFLICT DO NOTHING`` works on both engines and, unlike a read-then-write
    check, stays correct when two sweepers in two processes handle the same row at once.
    """
    insert: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (
        insert(ConversationMark)
        .values(conversation_id=conversation_id, key=key[:160], created_at=at)
        .on_conflict_do_nothing(index_elements=["conversation_id", "key"])
        .returning(ConversationMark.id)
    )
    # RETURNING, not rowcount: the driver's rowcount is unreliable once SQLAlchemy adds its
    # own RETURNING to the insert (it did on PostgreSQL, and every mark looked lost).
    return session.execute(stmt).first() is not None


_CLAIM_MANY: dict[str, Any] = {}


def claim_marks(
    session: Session, conversation_id: int, keys: Sequence[str], at: datetime
) -> set[str]:
    """Claim several marks in one round trip; returns the keys this caller inserted.

    The statement is built once per dialect and run with a parameter list, so SQLAlchemy
    caches its compiled form (a multi-row ``VALUES`` literal would be compiled every time)."""
    if not keys:
        return set()
    dialect = session.get_bind().dialect.name
    stmt = _CLAIM_MANY.get(dialect)
    if stmt is None:
        insert: Any
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = (
            insert(ConversationMark)
            .on_conflict_do_nothing(index_elements=["conversation_id", "key"])
            .returning(ConversationMark.key)
        )
        _CLAIM_MANY[dialect] = stmt
    rows = [{"conversation_id": conversation_id, "key": k[:160], "created_at": at} for k in keys]
    return set(session.execute(stmt, rows).scalars())
