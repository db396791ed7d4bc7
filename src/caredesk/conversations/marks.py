"""Exactly-once guards: a unique (conversation, key) row that only one writer can insert."""

from __future__ import annotations

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
    )
    result = session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)
