"""Inbound-message and new-conversation counts at three grains, written together.

- ``report_hourly``: per UTC hour and (channel, kind, language, team): filtered heat maps;
- ``report_arrivals_daily``: the same per UTC day: volume splits over long periods;
- ``report_hourly_totals``: per UTC hour over all dimensions: the unfiltered heat map and the
  staffing arrivals, 8,760 rows a year.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from caredesk.analytics.daily import split_period
from caredesk.analytics.queries import ReportFilter, dimension_where, scope_where
from caredesk.models import ReportArrivalsDaily, ReportHourly, ReportHourlyTotal

HOURLY: Table = ReportHourly.__table__  # type: ignore[assignment]
ARRIVALS_DAILY: Table = ReportArrivalsDaily.__table__  # type: ignore[assignment]
HOURLY_TOTALS: Table = ReportHourlyTotal.__table__  # type: ignore[assignment]
TABLES = (HOURLY, ARRIVALS_DAILY, HOURLY_TOTALS)
# (workspace, UTC hour, channel, kind, language, team) -> [inbound messages, new conversations]
Counts = dict[tuple[int, datetime, str, str, str, int], list[int]]


_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert(session: Session, table: Table, keys: list[str]) -> Any:
    """Built once per dialect and table (statement building costs more than running it)."""
    dialect = session.get_bind().dialect.name
    if (dialect, table.name) not in _UPSERTS:
        _UPSERTS[(dialect, table.name)] = _build_upsert(dialect, table, keys)
    return _UPSERTS[(dialect, table.name)]


def _build_upsert(dialect: str, table: Table, keys: list[str]) -> Any:
    ins = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    return ins.on_conflict_do_update(
        index_elements=keys,
        set_={
            "inbound": table.c.inbound + ins.excluded.inbound,
            "opened": table.c.opened + ins.excluded.opened,
        },
    )


def write_counts(session: Session, counts: Counts) -> None:
    if not counts:
        return
    dims = ["channel", "kind", "language", "team_id"]
    days: Counts = {}
    totals: dict[tuple[int, datetime], list[int]] = {}
    for (ws, hour, channel, kind, language, team), (n_in, n_open) in counts.items():
        day = hour.replace(hour=0)
        d = days.setdefault((ws, day, channel, kind, language, team), [0, 0])
        d[0] += n_in
        d[1] += n_open
        t = totals.setdefault((ws, hour), [0, 0])
        t[0] += n_in
        t[1] += n_open
    for table, time_col, grouped in ((HOURLY, "hour", counts), (ARRIVALS_DAILY, "day", days)):
        session.execute(
            _upsert(session, table, ["workspace_id", time_col, *dims]),
            [
                {
                    "workspace_id": k[0],
                    time_col: k[1],
                    "channel": k[2],
                    "kind": k[3],
                    "language": k[4],
                    "team_id": k[5],
                    "inbound": v[0],
                    "opened": v[1],
                }
                for k, v in grouped.items()
            ],
        )
    session.execute(
        _upsert(session, HOURLY_TOTALS, ["workspace_id", "hour"]),
        [
            {"workspace_id": k[0], "hour": k[1], "inbound": v[0], "opened": v[1]}
            for k, v in totals.items()
        ],
    )


# -- reading ----------------------------------------------------------------------------------


def _dims_filtered(f: ReportFilter) -> bool:
    return any(v is not None for v in (f.team_id, f.channel, f.language, f.kind))


def _n(value: object) -> int:
    return int(value) if isinstance(value, int | float | Decimal) else 0


def hourly_counts(session: Session, f: ReportFilter) -> list[tuple[datetime, int, int]]:
    """(UTC hour, inbound messages, new conversations) with traffic, oldest first."""
    if _dims_filtered(f):
        table, conds = HOURLY, dimension_where(HOURLY.c, f)
    else:
        table, conds = HOURLY_TOTALS, []
    c = table.c
    conds += scope_where(c.workspace_id, c.hour, f)
    rows = session.execute(
        select(c.hour, func.sum(c.inbound), func.sum(c.opened))
        .where(*conds)
        .group_by(c.hour)
        .order_by(c.hour)
    )
    return [(h, _n(i), _n(o)) for h, i, o in rows]


def volume_split(session: Session, f: ReportFilter) -> dict[str, dict[str, int]]:
    """Inbound messages per channel, per kind and per language: daily rows for the whole UTC
    days of the period, hourly rows for the partial days at its edges."""
    first, end, has_days = split_period(f.since, f.until)
    parts: list[tuple[Table, str, datetime | None, datetime | None]] = []
    if has_days:
        parts.append((ARRIVALS_DAILY, "day", first, end))
        if f.since is not None and first is not None and f.since < first:
            parts.append((HOURLY, "hour", f.since, first))
        if f.until is not None and end is not None and end < f.until:
            parts.append((HOURLY, "hour", end, f.until))
    else:
        parts.append((HOURLY, "hour", f.since, f.until))
    out: dict[str, dict[str, int]] = {"channel": {}, "kind": {}, "language": {}}
    for table, time_col, lo, hi in parts:
        c = table.c
        conds = dimension_where(table.c, f)
        if f.workspace_ids is not None:
            conds.append(c.workspace_id.in_(f.workspace_ids))
        if lo is not None:
            conds.append(c[time_col] >= lo)
        if hi is not None:
            conds.append(c[time_col] < hi)
        rows = session.execute(
            select(c.channel, c.kind, c.language, func.sum(c.inbound))
            .where(*conds)
            .group_by(c.channel, c.kind, c.language)
        )
        for channel, kind, language, n in rows:
            # Rows that only count openings have no inbound messages: leave them out.
            if not _n(n):
                continue
            for dim, value in (("channel", channel), ("kind", kind), ("language", language)):
                key = str(value) if value not in (None, "", 0) else "unknown"
                out[dim][key] = out[dim].get(key, 0) + _n(n)
    return {dim: dict(sorted(v.items())) for dim, v in out.items()}
