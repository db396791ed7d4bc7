"""Queries of the durable inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from caredesk.models import Counter, InboxItem


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def insert_if_new(session: Session, values: dict[str, Any]) -> int | None:
    """Insert an inbox row; return its id, or None if (channel, external_id) was already there."""
    stmt = (
        _insert(session)(InboxItem)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(InboxItem.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def note_duplicate(session: Session, channel: str, external_id: str) -> None:
    session.execute(
        update(InboxItem)
        .where(InboxItem.channel == channel, InboxItem.external_id == external_id)
        .values(duplicates=InboxItem.duplicates + 1)
    )


def bump_counter(session: Session, name: str, day: str, by: int = 1) -> None:
    stmt = _insert(session)(Counter).values(name=name, day=day, value=by)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name", "day"], set_={"value": Counter.value + by}
    )
    session.execute(stmt)


def counter_total(session: Session, name: str) -> int:
    from sqlalchemy import func

    total = session.execute(
        select(func.coalesce(func.sum(Counter.value), 0)).where(Counter.name == name)
    ).scalar_one()
    return int(total)


def get_item(session: Session, item_id: int, *, for_update: bool = False) -> InboxItem | None:
    stmt = select(InboxItem).where(InboxItem.id == item_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def unprocessed_ids(session: Session, older_than: datetime, limit: int = 500) -> list[int]:
    return list(
        session.execute(
            select(InboxItem.id)
            .where(InboxItem.state == "received", InboxItem.received_at < older_than)
            .order_by(InboxItem.id)
            .limit(limit)
        ).scalars()
    )


def purge_raw_before(session: Session, before: datetime) -> int:
    """Retention: drop raw payloads (not the normalised post) of old processed items."""
    result = session.execute(
        update(InboxItem)
        .where(InboxItem.received_at < before, InboxItem.state != "received")
        .values(raw={})
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_unmatched_before(session: Session, before: datetime) -> int:
    result = session.execute(
        delete(InboxItem).where(InboxItem.received_at < before, InboxItem.state == "unmatched")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
