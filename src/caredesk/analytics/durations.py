"""Duration statistics (median, mean, p90, shares within 1 h / 24 h, distribution) in two scans.

Percentiles are exact without sorting every row: one GROUP BY by minute bucket (per group, e.g.
per brand) gives the counts, sums and "within" counts, and shows which bucket holds each wanted
rank; a second query fetches only the values in those buckets. The distribution buckets are
whole minutes, so they come from the same histogram.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, func, literal, select, tuple_
from sqlalchemy.orm import Session

_BUCKET_SECONDS = 60.0
# Buckets people talk about: "within 15 minutes", "within the hour", "same day" (in minutes).
DISTRIBUTION: tuple[tuple[str, int], ...] = (
    ("< 15 min", 15),
    ("15-60 min", 60),
    ("1-4 h", 240),
    ("4-24 h", 1440),
    ("1-3 days", 4320),
)
BEYOND = "> 3 days"
EMPTY: dict[str, Any] = {
    "median": None,
    "mean": None,
    "p90": None,
    "n": 0,
    "within_1h": None,
    "within_24h": None,
}


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float | Decimal) else 0.0


def _bucket(session: Session, col: Any) -> Any:
    # Values are >= 0, so truncation is floor; PostgreSQL's CAST rounds, hence floor() there.
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(col / _BUCKET_SECONDS), Integer)
    return cast(col / _BUCKET_SECONDS, Integer)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 4)


def _within(col: Any, limit: float) -> Any:
    return func.sum(case((col <= limit, 1), else_=0))


def _ranks(n: int, ps: Sequence[float]) -> set[int]:
    out: set[int] = set()
    for p in ps:
        h = (n - 1) * p
        out.update((math.floor(h), math.ceil(h)))
    return out


def grouped_stats(
    session: Session,
    col: Any,
    where: Sequence[ColumnElement[bool]],
    group: Any = None,
    ps: Sequence[float] = (0.5, 0.9),
) -> dict[Any, dict[str, Any]]:
    """Statistics of the non-null values of ``col`` per value of ``group`` (one group, key
    ``None``, without it). Quantiles interpolate linearly between closest ranks (numpy's
    default, ``statistics.quantiles(method="inclusive")``)."""
    key = group if group is not None else literal(0)
    bucket = _bucket(session, col).label("b")
    conds = [*where, col.is_not(None)]
    hist: dict[Any, list[tuple[int, int]]] = {}
    totals: dict[Any, list[float]] = {}
    for g, b, n, total, in_1h, in_24h in session.execute(
        select(
            key, bucket, func.count(), func.sum(col), _within(col, 3600.0), _within(col, 86400.0)
        )
        .where(*conds)
        .group_by(key, bucket)
        .order_by(key, bucket)
    ):
        gk = g if group is not None else None
        hist.setdefault(gk, []).append((int(b), int(n)))
        t = totals.setdefault(gk, [0.0, 0.0, 0.0, 0.0])
        t[0] += int(n)
        t[1] += _num(total)
        t[2] += _num(in_1h)
        t[3] += _num(in_24h)
    # Which bucket holds each wanted rank, and how many values come before that bucket.
    wanted: dict[tuple[Any, int], int] = {}
    for gk, rows in hist.items():
        ranks = _ranks(int(totals[gk][0]), ps)
        before = 0
        for b, cnt in rows:
            if any(before <= r < before + cnt for r in ranks):
                wanted[(gk, b)] = before
            before += cnt
    values: dict[tuple[Any, int], list[float]] = {k: [] for k in wanted}
    buckets = sorted({b for _, b in wanted})
    if buckets:
        stmt = select(key, bucket, col).where(*conds, bucket.in_(buckets))
        if group is not None:
            stmt = stmt.where(tuple_(key, bucket).in_(list(wanted))) if len(wanted) < 500 else stmt
        for g, b, v in session.execute(stmt):
            k = (g if group is not None else None, int(b))
            if k in values:
                values[k].append(float(v))
    out: dict[Any, dict[str, Any]] = {}
    for gk, (n, total, in_1h, in_24h) in totals.items():
        count = int(n)
        at_rank: dict[int, float] = {}
        ranks = _ranks(count, ps)
        for (g2, b), start in wanted.items():
            if g2 != gk:
                continue
            ordered = sorted(values[(g2, b)])
            for r in ranks:
                if start <= r < start + len(ordered):
                    at_rank[r] = ordered[r - start]
        qs: dict[float, float] = {}
        for p in ps:
            h = (count - 1) * p
            lo, hi = at_rank[math.floor(h)], at_rank[math.ceil(h)]
            qs[p] = lo + (hi - lo) * (h - math.floor(h))
        out[gk] = {
            "median": _minutes(qs.get(0.5)),
            "mean": _minutes(total / count),
            "p90": _minutes(qs.get(0.9)),
            "n": count,
            "within_1h": round(in_1h / count, 6),
            "within_24h": round(in_24h / count, 6),
            "_hist": hist[gk],
        }
    return out


def distribution(hist: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    """Counts per ``DISTRIBUTION`` bucket from a minute histogram."""
    counts = [0] * (len(DISTRIBUTION) + 1)
    for minute, n in hist:
        i = next((k for k, (_, top) in enumerate(DISTRIBUTION) if minute < top), len(DISTRIBUTION))
        counts[i] += n
    labels = [label for label, _ in DISTRIBUTION] + [BEYOND]
    return [{"bucket": label, "count": c} for label, c in zip(labels, counts, strict=True)]


def stats_and_distribution(
    session: Session, col: Any, where: Sequence[ColumnElement[bool]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One column's statistics for the whole scope, and its distribution."""
    one = grouped_stats(session, col, where).get(None)
    if one is None:
        return dict(EMPTY), distribution([])
    hist = one.pop("_hist")
    return one, distribution(hist)


def stats_by(
    session: Session, col: Any, where: Sequence[ColumnElement[bool]], group: Any
) -> dict[Any, dict[str, Any]]:
    out = grouped_stats(session, col, where, group)
    for stats in out.values():
        stats.pop("_hist", None)
    return out
