"""Queries of the durable inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from caredesk.models import ChannelAccount, Counter, InboxItem

# Every webhook looks its account up by token: build the query once.
_ACCOUNT_BY_TOKEN = select(ChannelAccount).where(
    ChannelAccount.kind == bindparam("kind"),
    ChannelAccount.webhook_token == bindparam("token"),
    ChannelAccount.is_active.is_(True),
)


def webhook_account(session: Session, kind: str, token: str) -> ChannelAccount | None:
    """The active account of ``kind`` whose webhook address ends in ``token``."""
    found = session.execute(_ACCOUNT_BY_TOKEN, {"kind": kind, "token": token})
    return found.scalar_one_or_none()


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


# The hot-path statements are built once per dialect: building an INSERT .. ON CONFLICT (and
# compiling a multi-row VALUES, which the compiled cache cannot hold) cost more than running it.
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str) -> Any:
    dialect = session.get_bind().dialect.name
    stmt = _STATEMENTS.get((dialect, name))
    if stmt is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        if name == "inbox":
            table = cast(Table, InboxItem.__table__)
            stmt = (
                insert(table)
                .on_conflict_do_nothing(index_elements=["channel", "external_id"])
                .returning(table.c.id, table.c.channel, table.c.external_id)
            )
        else:
            table = cast(Table, Counter.__table__)
            ins = insert(table).values(
                name=bindparam("name"), day=bindparam("day"), value=bindparam("by")
            )
            stmt = ins.on_conflict_do_update(
                index_elements=["name", "day"], set_={"value": table.c.value + ins.excluded.value}
            )
        _STATEMENTS[(dialect, name)] = stmt
    return stmt


def insert_many_if_new(session: Session, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert inbox rows (all with the same keys); (channel, external id) -> id of those that
    were new. One cached statement, executed with SQLAlchemy's batched "insertmanyvalues"."""
    out: dict[tuple[str, str], int] = {}
    for item_id, channel, external_id in session.execute(_statement(session, "inbox"), rows):
        out[(channel, external_id)] = int(item_id)
    return out


def note_duplicate(session: Session, channel: str, external_id: str) -> None:
    note_duplicates(session, [(channel, external_id)])


_table = cast(Table, InboxItem.__table__)
# Core (not ORM) UPDATE: given a list of parameters the ORM would read it as "bulk update by
# primary key"; this way it is one executemany.
_NOTE_DUPLICATE = (
    update(_table)
    .where(_table.c.channel == bindparam("ch"), _table.c.external_id == bindparam("xid"))
    .values(duplicates=_table.c.duplicates + 1)
)


def note_duplicates(session: Session, keys: list[tuple[str, str]]) -> None:
    """Count one more copy on each (channel, external id) row (a key may repeat)."""
    session.execute(_NOTE_DUPLICATE, [{"ch": ch, "xid": xid} for ch, xid in keys])


def bump_counter(session: Session, name: str, day: str, by: int = 1) -> None:
    session.execute(_statement(session, "counter"), {"name": name, "day": day, "by": by})


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
