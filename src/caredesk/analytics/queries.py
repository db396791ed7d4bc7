"""SQL over the rollups: every figure is a GROUP BY in the database, filtered the same way.
(Duration statistics and percentiles: ``analytics.durations``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select
from sqlalchemy.orm import Session

from caredesk.events import E
from caredesk.models import Event, ReportConversation, ReportHourly

FACTS: Table = ReportConversation.__table__  # type: ignore[assignment]
HOURLY: Table = ReportHourly.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class ReportFilter:
    """Which conversations a figure covers. Times are aware; ``until`` is exclusive."""

    workspace_ids: tuple[int, ...] | None = None  # None = every workspace
    since: datetime | None = None
    until: datetime | None = None
    team_id: int | None = None
    channel: str | None = None
    language: str | None = None
    kind: str | None = None
    # SQLite only: read the table straight through instead of through the workspace index when
    # the filter keeps most rows (a row-by-row index walk is ~10x slower than a plain scan, and
    # SQLite's planner picks the index anyway). See ``prefer_scan``.
    full_scan: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace_ids": list(self.workspace_ids) if self.workspace_ids is not None else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "team_id": self.team_id,
            "channel": self.channel,
            "language": self.language,
            "kind": self.kind,
        }


def _ws(col: Any, f: ReportFilter) -> Any:
    # ``+ 0`` keeps the meaning and stops SQLite from using an index on the column.
    return col + 0 if f.full_scan else col


def prefer_scan(session: Session, f: ReportFilter) -> bool:
    """Whether a filter keeps so much of the table that a plain scan beats the index (SQLite;
    PostgreSQL's planner decides that itself). Both counts read only the index."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    total = int(session.execute(select(func.count()).select_from(FACTS)).scalar_one())
    kept = int(
        session.execute(
            select(func.count()).select_from(FACTS).where(*facts_where(f, index_only=True))
        ).scalar_one()
    )
    return total > 0 and kept * 5 > total


def scope_where(workspace: Any, time: Any, f: ReportFilter) -> list[ColumnElement[bool]]:
    """The filter's workspaces and period [since, until) on the given columns."""
    out: list[ColumnElement[bool]] = []
    if f.workspace_ids is not None:
        out.append(workspace.in_(f.workspace_ids))
    if f.since is not None:
        out.append(time >= f.since)
    if f.until is not None:
        out.append(time < f.until)
    return out


def facts_where(f: ReportFilter, *, index_only: bool = False) -> list[ColumnElement[bool]]:
    c = FACTS.c
    out = scope_where(_ws(c.workspace_id, f), c.started_at, f)
    if index_only:
        return out
    return [*out, *dimension_where(c, f)]


def hourly_where(f: ReportFilter) -> list[ColumnElement[bool]]:
    c = HOURLY.c
    return [*scope_where(_ws(c.workspace_id, f), c.hour, f), *dimension_where(c, f)]


def dimension_where(c: Any, f: ReportFilter) -> list[ColumnElement[bool]]:
    """The filter's team, channel, language and kind, on any table with those columns."""
    dims = (
        (c.team_id, f.team_id),
        (c.channel, f.channel),
        (c.language, f.language),
        (c.kind, f.kind),
    )
    return [col == value for col, value in dims if value is not None]


def _n(value: object) -> int:
    # PostgreSQL sums integers into NUMERIC (Decimal); SQLite gives int.
    return int(value) if isinstance(value, int | float | Decimal) else 0


def _f(value: object) -> float | None:
    return float(value) if isinstance(value, int | float | Decimal) else None


def _count_if(cond: ColumnElement[bool]) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 4)


# -- conversation outcomes --------------------------------------------------------------------


def outcome_totals(
    session: Session, where: Sequence[ColumnElement[bool]]
) -> dict[str, int | float]:
    c = FACTS.c
    row = session.execute(
        select(
            func.count().label("conversations"),
            _count_if(c.needs_reply).label("needed_reply"),
            _count_if(and_(c.needs_reply, c.first_response_at.is_not(None))).label("answered"),
            _count_if(c.resolved_at.is_not(None)).label("resolved"),
            _count_if(c.reopens > 0).label("reopened"),
            _count_if(or_(c.resolved_at.is_not(None), c.reopens > 0)).label("ever_resolved"),
            _count_if(c.abandoned).label("abandoned"),
            func.count(c.csat_score).label("csat_responses"),
            func.avg(c.csat_score).label("csat_average"),
            _count_if(c.csat_score >= 4).label("csat_satisfied"),
            func.coalesce(func.sum(c.follow_ups_scheduled), 0).label("follow_ups_scheduled"),
            func.coalesce(func.sum(c.follow_ups_done), 0).label("follow_ups_done"),
            func.coalesce(func.sum(c.follow_ups_missed), 0).label("follow_ups_missed"),
            # Imported history runs no SLA clocks unless an SLA event says otherwise.
            _count_if(
                or_(
                    and_(c.needs_reply, c.imported.is_(False)),
                    c.sla_first_response_breached,
                    c.sla_next_response_breached,
                    c.sla_resolution_breached,
                )
            ).label("sla_in_scope"),
            _count_if(c.sla_first_response_breached).label("sla_first_response_breached"),
            _count_if(c.sla_next_response_breached).label("sla_next_response_breached"),
            _count_if(c.sla_resolution_breached).label("sla_resolution_breached"),
            func.avg(c.handle_s).label("aht_seconds"),
            func.count(c.handle_s).label("handled"),
            func.sum(c.inbound_messages).label("inbound_messages"),
        ).where(*where)
    ).one()
    out: dict[str, int | float] = {}
    for key, value in row._mapping.items():
        if key in ("csat_average", "aht_seconds"):
            out[key] = _f(value) or 0.0
        else:
            out[key] = _n(value)
    return out


def rate_by(
    session: Session, dim: str, where: Sequence[ColumnElement[bool]]
) -> list[dict[str, Any]]:
    """Response rate and first response per value of one dimension (team_id, channel, kind,
    language, agent_id, brand_account_id)."""
    c = FACTS.c
    col = c[dim]
    rows = session.execute(
        select(
            col,
            func.count(),
            _count_if(c.needs_reply),
            _count_if(and_(c.needs_reply, c.first_response_at.is_not(None))),
            func.avg(c.first_response_s),
            _count_if(c.first_response_s <= 3600.0),
            func.count(c.first_response_s),
        )
        .where(*where)
        .group_by(col)
        .order_by(func.count().desc())
    ).all()
    out = []
    for value, n, needed, answered, frt_mean, in_1h, frt_n in rows:
        out.append(
            {
                dim: value,
                "conversations": _n(n),
                "needed_reply": _n(needed),
                "answered": _n(answered),
                "response_rate": round(_n(answered) / _n(needed), 6) if _n(needed) else None,
                "first_response_mean_minutes": _minutes(_f(frt_mean)),
                "first_response_within_1h": round(_n(in_1h) / _n(frt_n), 6) if frt_n else None,
            }
        )
    return out


def agent_outcomes(
    session: Session, where: Sequence[ColumnElement[bool]]
) -> dict[int, dict[str, Any]]:
    """Per agent: what they handled (``agent_id``) and the first replies they wrote
    (``first_response_agent_id``), both from ONE grouped scan, split here."""
    c = FACTS.c
    handled: dict[int, list[float]] = {}
    first: dict[int, list[float]] = {}
    for row in session.execute(
        select(
            c.agent_id,
            c.first_response_agent_id,
            func.count(),
            func.sum(c.resolution_s),
            func.count(c.resolution_s),
            func.count(c.csat_score),
            func.sum(c.csat_score),
            _count_if(c.csat_score >= 4),
            func.sum(c.notes),
            func.count(c.first_response_s),
            func.sum(c.first_response_s),
            _count_if(c.first_response_s <= 3600.0),
        )
        .where(*where, or_(c.agent_id != 0, c.first_response_agent_id != 0))
        .group_by(c.agent_id, c.first_response_agent_id)
    ):
        agent, responder = int(row[0]), int(row[1])
        nums = [_f(v) or 0.0 for v in row[2:]]
        if agent:
            slot = handled.setdefault(agent, [0.0] * 7)
            for k in range(7):
                slot[k] += nums[k]
        if responder:
            slot = first.setdefault(responder, [0.0] * 3)
            for k in range(3):
                slot[k] += nums[7 + k]
    out: dict[int, dict[str, Any]] = {}
    for agent, (n, res_sum, res_n, csat_n, csat_sum, csat_ok, notes) in handled.items():
        out[agent] = {
            "agent_id": agent,
            "handled": int(n),
            "resolved": int(res_n),
            "resolution_mean_minutes": _minutes(res_sum / res_n) if res_n else None,
            "csat": _csat(int(csat_n), csat_sum / csat_n if csat_n else None, int(csat_ok)),
            "notes_on_handled": int(notes),
        }
    for agent, (n, total, in_1h) in first.items():
        entry = out.setdefault(agent, {"agent_id": agent, "handled": 0})
        entry["first_responses"] = int(n)
        entry["first_response_mean_minutes"] = _minutes(total / n) if n else None
        entry["first_response_within_1h"] = round(in_1h / n, 6) if n else None
    return out


def notes_by_agent(session: Session, f: ReportFilter) -> dict[int, int]:
    """Notes written in the period, straight from the event log (few rows, indexed by name)."""
    conds: list[ColumnElement[bool]] = [
        Event.name == str(E.NOTE_ADDED),
        Event.actor_agent_id.is_not(None),
        *scope_where(Event.workspace_id, Event.occurred_at, f),
    ]
    rows = session.execute(
        select(Event.actor_agent_id, func.count()).where(*conds).group_by(Event.actor_agent_id)
    )
    return {int(a): int(n) for a, n in rows if a is not None}


def _csat(n: int, avg: float | None, satisfied: int) -> dict[str, Any]:
    return {
        "responses": n,
        "average": round(avg, 4) if avg is not None and n else None,
        "satisfied_share": round(satisfied / n, 6) if n else None,
    }


def abandon_reasons(session: Session, where: Sequence[ColumnElement[bool]]) -> dict[str, int]:
    c = FACTS.c
    rows = session.execute(
        select(c.abandon_reason, func.count())
        .where(*where, c.abandoned)
        .group_by(c.abandon_reason)
        .order_by(func.count().desc())
    )
    return {str(reason or "unspecified"): int(n) for reason, n in rows}


def drill_down(
    session: Session, where: Sequence[ColumnElement[bool]], metric: str, limit: int = 100
) -> list[int]:
    """Conversation ids behind a figure, newest first (``metric`` names a boolean outcome)."""
    c = FACTS.c
    conditions: dict[str, ColumnElement[bool]] = {
        "sla_first_response_breached": c.sla_first_response_breached,
        "sla_next_response_breached": c.sla_next_response_breached,
        "sla_resolution_breached": c.sla_resolution_breached,
        "abandoned": c.abandoned,
        "reopened": c.reopens > 0,
        "unanswered": and_(c.needs_reply, c.first_response_at.is_(None)),
        "dissatisfied": c.csat_score <= 3,
        "follow_up_missed": c.follow_ups_missed > 0,
    }
    if metric not in conditions:
        raise KeyError(metric)
    rows = session.execute(
        select(c.conversation_id)
        .where(*where, conditions[metric])
        .order_by(c.started_at.desc())
        .limit(limit)
    )
    return [int(r) for (r,) in rows]


DRILL_DOWN_METRICS = (
    "sla_first_response_breached",
    "sla_next_response_breached",
    "sla_resolution_breached",
    "abandoned",
    "reopened",
    "unanswered",
    "dissatisfied",
    "follow_up_missed",
)


# -- volume -----------------------------------------------------------------------------------


def hourly_counts(session: Session, f: ReportFilter) -> list[tuple[datetime, int, int]]:
    """(UTC hour, inbound messages, new conversations) with traffic, oldest first."""
    c = HOURLY.c
    rows = session.execute(
        select(c.hour, func.sum(c.inbound), func.sum(c.opened))
        .where(*hourly_where(f))
        .group_by(c.hour)
        .order_by(c.hour)
    )
    return [(h, _n(i), _n(o)) for h, i, o in rows]


def volume_by(session: Session, f: ReportFilter, dim: str) -> dict[str, int]:
    """Inbound messages per value of one dimension, from the hourly rows (the reference the
    report's ``arrivals.volume_split`` is tested against)."""
    c = HOURLY.c
    col = c[dim]
    rows = session.execute(
        select(col, func.sum(c.inbound)).where(*hourly_where(f)).group_by(col).order_by(col)
    )
    # Rows that only count openings have no inbound messages: leave them out.
    return {str(k) if k not in (None, "", 0) else "unknown": _n(n) for k, n in rows if _n(n)}


def period_bounds(session: Session, f: ReportFilter) -> tuple[datetime | None, datetime | None]:
    """First and last conversation start within the filter (to default an open period)."""
    lo, hi = session.execute(
        select(func.min(FACTS.c.started_at), func.max(FACTS.c.started_at)).where(*facts_where(f))
    ).one()
    return lo, hi


def csat_summary(totals: dict[str, int | float]) -> dict[str, Any]:
    return _csat(
        int(totals["csat_responses"]),
        float(totals["csat_average"]) if totals["csat_average"] else None,
        int(totals["csat_satisfied"]),
    )
