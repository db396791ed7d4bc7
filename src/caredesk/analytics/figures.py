"""Outcome totals, rates per dimension and duration statistics from the daily sums.

One pass over ``report_daily`` (plus the partial days at the period's edges, straight from
``report_conversations``) gives every count, sum and distribution bucket. Medians and p90 are
exact, read from ``report_conversations`` in one of two ways that never bring a large scope into
Python: a small scope's values are fetched in one query and sorted here; a large scope of one
workspace walks the (workspace, value, start) index to the wanted rank with OFFSET. Only a
large scope with a team/channel/kind/language filter or several workspaces falls back to the
bucket histogram of ``analytics.durations`` (two GROUP BY scans per duration).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, literal_column, select
from sqlalchemy.orm import Session

from caredesk.analytics import daily
from caredesk.analytics import queries as q
from caredesk.analytics.durations import BEYOND, DISTRIBUTION, EMPTY, stats_and_distribution

# Up to this many conversations in scope, duration values are fetched and sorted in Python.
SMALL_SCOPE = 150_000
RATE_DIMS = ("team_id", "channel", "kind", "language", "brand_account_id")


@dataclass
class Figures:
    totals: dict[str, int | float]
    rates: dict[str, list[dict[str, Any]]]  # dimension -> rows as ``queries.rate_by``
    durations: dict[str, dict[str, Any]]  # frt/bfrt/ack/res -> statistics as ``EMPTY``
    distributions: dict[str, list[dict[str, Any]]]  # frt/res -> buckets


def _round(num: float, den: float) -> float | None:
    return round(num / den, 6) if den else None


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 4)


def scope_conditions(
    f: q.ReportFilter,
) -> tuple[list[ColumnElement[bool]], list[list[ColumnElement[bool]]]]:
    """(daily conditions, list of conversation-row conditions for the partial days)."""
    first, end, has_days = daily.split_period(f.since, f.until)
    d = daily.DAILY.c
    dims: list[ColumnElement[bool]] = []
    for col, value in (
        ("team_id", f.team_id),
        ("channel", f.channel),
        ("language", f.language),
        ("kind", f.kind),
    ):
        if value is not None:
            dims.append(d[col] == value)
    daily_where: list[ColumnElement[bool]] = [*dims]
    if f.workspace_ids is not None:
        daily_where.append(d.workspace_id.in_(f.workspace_ids))
    if not has_days:
        return [false()], [q.facts_where(f)]
    if first is not None:
        daily_where.append(d.day >= first)
    if end is not None:
        daily_where.append(d.day < end)
    edges = []
    no_time = q.ReportFilter(
        f.workspace_ids, None, None, f.team_id, f.channel, f.language, f.kind, f.full_scan
    )
    c = q.FACTS.c
    if f.since is not None and first is not None and f.since < first:
        edges.append([*q.facts_where(no_time), c.started_at >= f.since, c.started_at < first])
    if f.until is not None and end is not None and end < f.until:
        edges.append([*q.facts_where(no_time), c.started_at >= end, c.started_at < f.until])
    return daily_where, edges


def _totals(s: dict[str, float]) -> dict[str, int | float]:
    out: dict[str, int | float] = {k: round(s[k]) for k in daily.COUNTS}
    out["csat_average"] = s["csat_sum"] / s["csat_responses"] if s["csat_responses"] else 0.0
    out["aht_seconds"] = s["handle_sum"] / s["handled"] if s["handled"] else 0.0
    return out


def _rate_rows(groups: dict[tuple[Any, ...], dict[str, float]], dim: str) -> list[dict[str, Any]]:
    k = daily.DIMS.index(dim)
    merged: dict[Any, dict[str, float]] = {}
    for key, sums in groups.items():
        slot = merged.setdefault(key[k], dict.fromkeys(("n", "need", "ans", "fs", "fn", "f1"), 0.0))
        slot["n"] += sums["conversations"]
        slot["need"] += sums["needed_reply"]
        slot["ans"] += sums["answered"]
        slot["fs"] += sums["frt_sum"]
        slot["fn"] += sums["frt_n"]
        slot["f1"] += sums["frt_in_1h"]
    rows = []
    for value, m in sorted(merged.items(), key=lambda kv: (-kv[1]["n"], str(kv[0]))):
        if not m["n"]:
            continue  # every conversation of this value moved elsewhere since
        rows.append(
            {
                dim: value,
                "conversations": int(m["n"]),
                "needed_reply": int(m["need"]),
                "answered": int(m["ans"]),
                "response_rate": _round(m["ans"], m["need"]),
                "first_response_mean_minutes": _minutes(m["fs"] / m["fn"]) if m["fn"] else None,
                "first_response_within_1h": _round(m["f1"], m["fn"]),
            }
        )
    return rows


def _distribution(s: dict[str, float], name: str) -> list[dict[str, Any]]:
    labels = [label for label, _ in DISTRIBUTION] + [BEYOND]
    return [{"bucket": lb, "count": int(s[f"{name}_d{i}"])} for i, lb in enumerate(labels)]


def _interpolate(ordered: Sequence[float], n: int, p: float, offset: int = 0) -> float:
    """Linear interpolation between closest ranks (numpy's default), ``ordered`` starting at
    rank ``offset``."""
    h = (n - 1) * p
    lo, hi = math.floor(h), math.ceil(h)
    a, b = ordered[lo - offset], ordered[hi - offset]
    return a + (b - a) * (h - lo)


def _time_conds(session: Session, f: q.ReportFilter, *, walk: bool) -> list[Any]:
    c = q.FACTS.c
    started: Any = c.started_at
    if walk and session.get_bind().dialect.name == "sqlite":
        # Unary plus keeps the value but hides the column from the (workspace, start) index,
        # so SQLite walks the (workspace, value, start) index in value order instead.
        started = literal_column("+report_conversations.started_at", c.started_at.type)
    out = []
    if f.since is not None:
        out.append(started >= f.since)
    if f.until is not None:
        out.append(started < f.until)
    return out


def _percentiles(
    session: Session, f: q.ReportFilter, counts: dict[str, int], conversations: int
) -> dict[str, dict[float, float]] | None:
    """Exact median and p90 per duration, or None where the fallback has to compute them."""
    c = q.FACTS.c
    cols = {name: c[daily.DURATION_COLUMNS[name]] for name in counts}
    out: dict[str, dict[float, float]] = {}
    if conversations <= SMALL_SCOPE:
        values: dict[str, list[float]] = {name: [] for name in counts}
        rows = session.execute(select(*cols.values()).where(*q.facts_where(f)))
        names = list(cols)
        for row in rows:
            for name, v in zip(names, row, strict=True):
                if v is not None:
                    values[name].append(float(v))
        for name, vs in values.items():
            vs.sort()
            if len(vs) != counts[name]:
                return None  # rows changed between the two reads: let the fallback decide
            out[name] = {p: _interpolate(vs, len(vs), p) for p in (0.5, 0.9)} if vs else {}
        return out
    dims_filtered = any(v is not None for v in (f.team_id, f.channel, f.language, f.kind))
    if f.workspace_ids is None or len(f.workspace_ids) != 1 or dims_filtered:
        return None
    for name, col in cols.items():
        n = counts[name]
        out[name] = {}
        if not n:
            continue  # no values: the figure is EMPTY, nothing to walk
        for p in (0.5, 0.9):
            lo = math.floor((n - 1) * p)
            got = [
                float(v)
                for (v,) in session.execute(
                    select(col)
                    .where(
                        c.workspace_id == f.workspace_ids[0],
                        col.is_not(None),
                        *_time_conds(session, f, walk=True),
                    )
                    .order_by(col)
                    .offset(lo)
                    .limit(2)
                )
            ]
            if not got:
                return None
            got.append(got[-1])
            out[name][p] = _interpolate(got, n, p, offset=lo)
    return out


def compute(session: Session, f: q.ReportFilter) -> Figures:
    daily_where, edges = scope_conditions(f)
    groups = daily.grouped_sums(session, daily_where, edges)
    s = dict.fromkeys(daily.MEASURES, 0.0)
    for sums in groups.values():
        for k, v in sums.items():
            s[k] += v
    totals = _totals(s)
    rates = {dim: _rate_rows(groups, dim) for dim in RATE_DIMS}
    counts = {name: int(s[f"{name}_n"]) for name in daily.DURATION_COLUMNS}
    pcts = _percentiles(session, f, counts, int(totals["conversations"]))
    durations: dict[str, dict[str, Any]] = {}
    where = q.facts_where(f)
    for name, n in counts.items():
        if not n:
            durations[name] = dict(EMPTY)
            continue
        if pcts is not None:
            median, p90 = pcts[name][0.5], pcts[name][0.9]
        else:
            col = q.FACTS.c[daily.DURATION_COLUMNS[name]]
            exact = stats_and_distribution(session, col, where)[0]
            median, p90 = exact["median"] * 60.0, exact["p90"] * 60.0
        durations[name] = {
            "median": _minutes(median),
            "mean": _minutes(s[f"{name}_sum"] / n),
            "p90": _minutes(p90),
            "n": n,
            "within_1h": round(s[f"{name}_in_1h"] / n, 6),
            "within_24h": round(s[f"{name}_in_24h"] / n, 6),
        }
    distributions = {name: _distribution(s, name) for name in ("frt", "res")}
    return Figures(totals, rates, durations, distributions)
