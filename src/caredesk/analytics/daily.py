"""Daily sums over the per-conversation rollup (``report_daily``), kept in step by deltas.

Every measure is defined ONCE, as a SQL expression over a ``report_conversations`` row; the
daily table holds its sum per (workspace, UTC day of ``started_at``, team, channel, kind,
language, brand account). The same expressions serve three purposes:

- upkeep: before the fold rewrites some conversations, their current contributions are read
  (grouped by day and dimensions) and subtracted; after, the new ones are added (``Delta``);
- the first build: one ``INSERT ... SELECT ... GROUP BY`` over the whole table;
- reports: a period's figures are the daily rows for the whole UTC days inside it plus the same
  sums computed straight from ``report_conversations`` for the partial days at its edges (a
  local-time period rarely starts at UTC midnight), so the result is exact, not approximate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from caredesk.models import ReportConversation, ReportDaily
from caredesk.models.analytics import DAILY_DURATIONS, DAILY_FLOAT_SUMS, daily_count_columns

FACTS: Table = ReportConversation.__table__  # type: ignore[assignment]
DAILY: Table = ReportDaily.__table__  # type: ignore[assignment]
DIMS = ("team_id", "channel", "kind", "language", "brand_account_id")
COUNTS = daily_count_columns()
MEASURES = (*COUNTS, *DAILY_FLOAT_SUMS)
# Distribution bucket upper bounds in seconds (< 15 min, < 1 h, < 4 h, < 24 h, < 3 days, more):
# the same as ``durations.DISTRIBUTION``, whose buckets are whole minutes.
DIST_EDGES = (900.0, 3600.0, 14400.0, 86400.0, 259200.0)
DURATION_COLUMNS = {
    "frt": "first_response_s",
    "bfrt": "first_response_business_s",
    "ack": "auto_ack_s",
    "res": "resolution_s",
}


def _one(cond: ColumnElement[bool]) -> Any:
    return case((cond, 1), else_=0)


def measure_exprs() -> dict[str, Any]:
    """name -> per-row SQL expression whose SUM is the measure (the only definition)."""
    c = FACTS.c
    out: dict[str, Any] = {
        "conversations": literal(1),
        "needed_reply": _one(c.needs_reply),
        "answered": _one(and_(c.needs_reply, c.first_response_at.is_not(None))),
        "resolved": _one(c.resolved_at.is_not(None)),
        "reopened": _one(c.reopens > 0),
        "ever_resolved": _one(or_(c.resolved_at.is_not(None), c.reopens > 0)),
        "abandoned": _one(c.abandoned),
        "csat_responses": _one(c.csat_score.is_not(None)),
        "csat_satisfied": _one(c.csat_score >= 4),
        "follow_ups_scheduled": c.follow_ups_scheduled,
        "follow_ups_done": c.follow_ups_done,
        "follow_ups_missed": c.follow_ups_missed,
        # Imported history runs no SLA clocks unless an SLA event says otherwise.
        "sla_in_scope": _one(
            or_(
                and_(c.needs_reply, c.imported.is_(False)),
                c.sla_first_response_breached,
                c.sla_next_response_breached,
                c.sla_resolution_breached,
            )
        ),
        "sla_first_response_breached": _one(c.sla_first_response_breached),
        "sla_next_response_breached": _one(c.sla_next_response_breached),
        "sla_resolution_breached": _one(c.sla_resolution_breached),
        "handled": _one(c.handle_s.is_not(None)),
        "inbound_messages": c.inbound_messages,
        "csat_sum": func.coalesce(c.csat_score, 0),
        "handle_sum": func.coalesce(c.handle_s, 0.0),
    }
    for name, buckets in DAILY_DURATIONS.items():
        col = c[DURATION_COLUMNS[name]]
        out[f"{name}_n"] = _one(col.is_not(None))
        out[f"{name}_sum"] = func.coalesce(col, 0.0)
        out[f"{name}_in_1h"] = _one(col <= 3600.0)
        out[f"{name}_in_24h"] = _one(col <= 86400.0)
        for i in range(buckets):
            lower = DIST_EDGES[i - 1] if i else None
            upper = DIST_EDGES[i] if i < len(DIST_EDGES) else None
            conds: list[ColumnElement[bool]] = [col.is_not(None)]
            if lower is not None:
                conds.append(col >= lower)
            if upper is not None:
                conds.append(col < upper)
            out[f"{name}_d{i}"] = _one(and_(*conds))
    return out


_EXPRS = measure_exprs()


def day_of(session: Session, col: Any) -> Any:
    """The UTC midnight of a timestamp column, as the column type (compares like the day)."""
    if session.get_bind().dialect.name == "postgresql":
        utc_day = func.date_trunc("day", func.timezone("UTC", col))
        return func.timezone("UTC", utc_day, type_=col.type)
    # SQLite keeps naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff" (see ``kit.db.UTCDateTime``).
    return func.substr(col, 1, 10).op("||")(" 00:00:00.000000")


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float | Decimal) else 0.0


# -- upkeep -----------------------------------------------------------------------------------


class Delta:
    """Changes to daily rows from rewriting some conversations: ``take`` before, ``add`` after."""

    def __init__(self) -> None:
        self.cells: dict[tuple[Any, ...], list[float]] = {}

    def _read(self, session: Session, conversation_ids: Iterable[int], sign: int) -> None:
        ids = sorted(set(conversation_ids))
        stmt = _statements(session)["read"]
        for i in range(0, len(ids), 900):
            for row in session.execute(stmt, {"ids": ids[i : i + 900]}):
                key = (row[0], _as_day(row[1]), *row[2 : 2 + len(DIMS)])
                slot = self.cells.setdefault(key, [0.0] * len(MEASURES))
                for k, v in enumerate(row[2 + len(DIMS) :]):
                    slot[k] += sign * _num(v)

    def take(self, session: Session, conversation_ids: Iterable[int]) -> None:
        self._read(session, conversation_ids, -1)

    def add(self, session: Session, conversation_ids: Iterable[int]) -> None:
        self._read(session, conversation_ids, +1)

    def write(self, session: Session) -> int:
        rows = []
        for key, values in self.cells.items():
            if not any(values):
                continue  # a rewrite that changed nothing this table counts
            row: dict[str, Any] = {"workspace_id": key[0], "day": key[1]}
            row.update(zip(DIMS, key[2:], strict=True))
            for name, v in zip(MEASURES, values, strict=True):
                row[name] = v if name in DAILY_FLOAT_SUMS else round(v)
            rows.append(row)
        self.cells.clear()
        if rows:
            session.execute(_statements(session)["upsert"], rows)
        return len(rows)


def _as_day(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


_STATEMENTS: dict[str, dict[str, Any]] = {}


def _statements(session: Session) -> dict[str, Any]:
    """The upkeep statements, built once per dialect: with ~50 measures, building and hashing
    them anew would cost more than running them (tens of ms per refresh)."""
    dialect = session.get_bind().dialect.name
    if dialect not in _STATEMENTS:
        day = day_of(session, FACTS.c.started_at).label("day")
        dims = [FACTS.c[d] for d in DIMS]
        read = (
            select(FACTS.c.workspace_id, day, *dims, *(func.sum(_EXPRS[m]) for m in MEASURES))
            .where(FACTS.c.conversation_id.in_(bindparam("ids", expanding=True)))
            .group_by(FACTS.c.workspace_id, day, *dims)
        )
        ins = pg_insert(DAILY) if dialect == "postgresql" else sqlite_insert(DAILY)
        upsert = ins.on_conflict_do_update(
            index_elements=["workspace_id", "day", *DIMS],
            set_={m: DAILY.c[m] + ins.excluded[m] for m in MEASURES},
        )
        _STATEMENTS[dialect] = {"read": read, "upsert": upsert}
    return _STATEMENTS[dialect]


def build_all(session: Session) -> int:
    """Fill an EMPTY daily table from every conversation row in one statement."""
    day = day_of(session, FACTS.c.started_at)
    dims = [FACTS.c[d] for d in DIMS]
    sums = [func.sum(_EXPRS[m]) for m in MEASURES]
    source = select(FACTS.c.workspace_id, day.label("day"), *dims, *sums).group_by(
        FACTS.c.workspace_id, day, *dims
    )
    result = session.execute(
        DAILY.insert().from_select(["workspace_id", "day", *DIMS, *MEASURES], source)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- reading ----------------------------------------------------------------------------------


def split_period(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None, bool]:
    """The whole UTC days inside ``[since, until)``: (first day, end of last day, any)."""
    first = None
    if since is not None:
        first = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if first < since:
            first += timedelta(days=1)
    end = None
    if until is not None:
        end = until.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    has_days = first is None or end is None or first < end
    return first, end, has_days


def grouped_sums(
    session: Session,
    daily_where: Sequence[ColumnElement[bool]],
    facts_where: Sequence[Sequence[ColumnElement[bool]]],
    by: Sequence[str] = DIMS,
) -> dict[tuple[Any, ...], dict[str, float]]:
    """Sum of every measure per combination of ``by``: daily rows (``daily_where``) plus
    conversation rows for each list of conditions in ``facts_where`` (the partial days)."""
    out: dict[tuple[Any, ...], dict[str, float]] = {}

    def merge(rows: Any) -> None:
        for row in rows:
            key = tuple(row[: len(by)])
            slot = out.setdefault(key, dict.fromkeys(MEASURES, 0.0))
            for name, v in zip(MEASURES, row[len(by) :], strict=True):
                slot[name] += _num(v)

    d = [DAILY.c[b] for b in by]
    merge(
        session.execute(
            select(*d, *(func.sum(DAILY.c[m]) for m in MEASURES)).where(*daily_where).group_by(*d)
        )
    )
    f = [FACTS.c[b] for b in by]
    for where in facts_where:
        merge(
            session.execute(
                select(*f, *(func.sum(_EXPRS[m]) for m in MEASURES)).where(*where).group_by(*f)
            )
        )
    return out
