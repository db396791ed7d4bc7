"""The full report: every figure of issue 8 as plain dicts (JSON, web pages, CSV all use it).

Scope: the conversations whose first inbound customer message (or opening) falls in the period,
with the filters applied to every figure. Volume counts inbound messages by the hour they
arrived. See docs/report-schema.md for every field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caredesk.analytics import queries as q
from caredesk.analytics.arrivals import hourly_counts, volume_split
from caredesk.analytics.durations import EMPTY, stats_by
from caredesk.analytics.figures import compute as compute_figures
from caredesk.analytics.rollup import DEFAULT_SETTLE_SECONDS, refresh_rollups
from caredesk.analytics.staffing_report import (
    StaffingOptions,
    arrivals_grid,
    scheduled_grid,
    staffing_section,
    weekday_counts,
)
from caredesk.kit.business_hours import BusinessHours
from caredesk.kit.clock import Clock
from caredesk.kit.errors import NotFound, ValidationFailed
from caredesk.models import Agent, ChannelAccount, Team, Workspace

SCHEMA = "caredesk.report/1"
EVENING_HOURS = frozenset({19, 20, 21, 22, 23, 0, 1, 2})  # 7 pm - 3 am local
LARGE_SHARE = 0.25
MAX_BRANDS = 25


_EMPTY_AGENT: dict[str, Any] = {
    "agent_id": 0,
    "name": None,
    "handled": 0,
    "resolved": 0,
    "resolution_mean_minutes": None,
    "csat": {"responses": 0, "average": None, "satisfied_share": None},
    "notes_on_handled": 0,
    "first_responses": 0,
    "first_response_mean_minutes": None,
    "first_response_within_1h": None,
    "notes": 0,
}


@dataclass(frozen=True)
class ReportRequest:
    workspace: str | None = None  # id, slug or name; None = all workspaces
    # Set by the API: the workspaces the signed-in agent may see (ignored with ``workspace``).
    workspace_ids: tuple[int, ...] | None = None
    since: date | None = None  # local date, inclusive
    until: date | None = None  # local date, inclusive
    timezone: str | None = None  # default: the workspace's zone (UTC for several)
    team_id: int | None = None
    channel: str | None = None
    language: str | None = None
    kind: str | None = None
    staffing: StaffingOptions = field(default_factory=StaffingOptions)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone {name!r}") from exc


def find_workspaces(
    session: Session, ref: str | None, allowed: tuple[int, ...] | None = None
) -> list[Workspace]:
    stmt = select(Workspace).order_by(Workspace.id)
    if allowed is not None:
        stmt = stmt.where(Workspace.id.in_(allowed))
    if ref is None:
        return list(session.execute(stmt).scalars())
    conds = [Workspace.slug == ref, Workspace.name == ref]
    if ref.isdigit():
        conds.append(Workspace.id == int(ref))
    found = session.execute(stmt.where(or_(*conds))).scalars().first()
    if found is None:
        raise NotFound(f"workspace {ref!r} not found")
    return [found]


def resolve_filter(
    session: Session, req: ReportRequest, workspaces: Sequence[Workspace]
) -> tuple[q.ReportFilter, ZoneInfo]:
    tzname = req.timezone or (workspaces[0].timezone if len(workspaces) == 1 else "UTC")
    tz = _zone(tzname)
    if req.since and req.until and req.until < req.since:
        raise ValidationFailed("until is before since")
    since = datetime.combine(req.since, time(0), tzinfo=tz).astimezone(UTC) if req.since else None
    until = (
        datetime.combine(req.until + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        if req.until
        else None
    )
    restricted = req.workspace is not None or req.workspace_ids is not None
    ids = tuple(w.id for w in workspaces) if restricted else None
    f = q.ReportFilter(ids, since, until, req.team_id, req.channel, req.language, req.kind)
    return replace(f, full_scan=q.prefer_scan(session, f)), tz


def _volume(
    session: Session,
    f: q.ReportFilter,
    tz: ZoneInfo,
    schedules: list[BusinessHours],
) -> tuple[dict[str, Any], list[list[int]], list[list[int]]]:
    inbound = [[0] * 24 for _ in range(7)]
    opened = [[0] * 24 for _ in range(7)]
    total = outside = evening = 0
    days: dict[date, list[int]] = {}
    for hour, n_in, n_open in hourly_counts(session, f):
        local = hour.astimezone(tz)
        inbound[local.weekday()][local.hour] += n_in
        opened[local.weekday()][local.hour] += n_open
        day = days.setdefault(local.date(), [0, 0])
        day[0] += n_in
        day[1] += n_open
        total += n_in
        if local.hour in EVENING_HOURS:
            evening += n_in
        # Hour granularity: the middle of the hour decides whether it was open.
        if schedules and not any(s.is_open(hour + timedelta(minutes=30)) for s in schedules):
            outside += n_in
    outside_share = round(outside / total, 6) if total and schedules else None
    evening_share = round(evening / total, 6) if total else None
    flags = []
    if outside_share is not None and outside_share >= LARGE_SHARE:
        flags.append(
            f"{outside_share:.0%} of customer posts arrive outside business hours. Consider "
            "longer or staggered hours, or an automatic reply that says when you will answer."
        )
    if evening_share is not None and evening_share >= LARGE_SHARE:
        flags.append(
            f"{evening_share:.0%} of customer posts arrive between 7 pm and 3 am. Plan an "
            "evening shift or cover from another time zone."
        )
    split = volume_split(session, f)
    section = {
        "timezone": str(tz),
        "inbound_messages": total,
        "conversations": sum(map(sum, opened)),
        "by_channel": split["channel"],
        "by_kind": split["kind"],
        "by_language": split["language"],
        "outside_business_hours_share": outside_share,
        "evening_7pm_3am_share": evening_share,
        "flags": flags,
        "trend": _trend(days),
    }
    return section, inbound, opened


def _trend(days: dict[date, list[int]]) -> dict[str, Any]:
    """Inbound messages and new conversations per local day, or per week (Monday) when the
    period is longer than two months, so a chart stays readable."""
    if not days:
        return {"grain": "day", "points": []}
    first, last = min(days), max(days)
    weekly = (last - first).days > 62
    buckets: dict[date, list[int]] = {}
    day = first - timedelta(days=first.weekday()) if weekly else first
    while day <= last:  # every period, including empty ones: gaps are information
        buckets[day] = [0, 0]
        day += timedelta(days=7 if weekly else 1)
    for d, (n_in, n_open) in days.items():
        key = d - timedelta(days=d.weekday()) if weekly else d
        buckets[key][0] += n_in
        buckets[key][1] += n_open
    return {
        "grain": "week" if weekly else "day",
        "points": [
            {"period": k.isoformat(), "inbound_messages": v[0], "conversations": v[1]}
            for k, v in sorted(buckets.items())
        ],
    }


def _schedules(
    session: Session, workspace_ids: Sequence[int] | None, team_id: int | None
) -> list[BusinessHours]:
    stmt = select(Team).where(Team.deleted_at.is_(None))
    if workspace_ids is not None:
        stmt = stmt.where(Team.workspace_id.in_(workspace_ids))
    if team_id is not None:
        stmt = stmt.where(Team.id == team_id)
    out = []
    for t in session.execute(stmt).scalars():
        if not t.business_hours:
            continue
        try:
            out.append(
                BusinessHours.from_dict(t.business_hours, timezone=t.timezone, holidays=t.holidays)
            )
        except ValueError:
            continue
    return out


def _names(session: Session, model: Any, ids: set[int], attr: str) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(model.id, getattr(model, attr)).where(model.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}


def _with_names(
    rows: list[dict[str, Any]], key: str, names: dict[int, str], label: str
) -> list[dict[str, Any]]:
    for r in rows:
        value = r.get(key)
        r[label] = names.get(int(value)) if isinstance(value, int) and value else None
    return rows


def build_report(
    session: Session,
    clock: Clock,
    req: ReportRequest,
    *,
    refresh: bool = True,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> dict[str, Any]:
    """Every figure for the request. Folds new events into the rollups first (``refresh``), so
    the caller's transaction must be allowed to write; the caller commits."""
    if refresh:
        refresh_rollups(session, clock, settle_seconds=settle_seconds)
    workspaces = find_workspaces(session, req.workspace, req.workspace_ids)
    f, tz = resolve_filter(session, req, workspaces)
    where = q.facts_where(f)
    # Newest-first lists and the period's bounds walk the (workspace, start) index: never scan.
    indexed = q.facts_where(replace(f, full_scan=False))
    c = q.FACTS.c

    figures = compute_figures(session, f)
    totals = figures.totals
    conversations = int(totals["conversations"])
    needed, answered = int(totals["needed_reply"]), int(totals["answered"])
    resolved, reopened = int(totals["resolved"]), int(totals["reopened"])
    ever_resolved = int(totals["ever_resolved"])
    abandoned = int(totals["abandoned"])

    sla = {}
    in_scope = int(totals["sla_in_scope"])
    for target in ("first_response", "next_response", "resolution"):
        breached = int(totals[f"sla_{target}_breached"])
        sla[target] = {
            # Every live conversation that needed a reply is held to the SLA targets.
            "in_scope": in_scope,
            "breached": breached,
            "met_rate": round(max(0, in_scope - breached) / in_scope, 6) if in_scope else None,
            "breached_conversation_ids": q.drill_down(
                session, indexed, f"sla_{target}_breached", limit=50
            )
            if breached
            else [],
        }

    agents = q.agent_outcomes(session, where)
    notes = q.notes_by_agent(session, f)
    for agent_id, n in notes.items():
        agents.setdefault(agent_id, {"agent_id": agent_id, "handled": 0})["notes"] = n
    agent_names = _names(session, Agent, set(agents), "name")
    agent_rows = []
    for agent_id in sorted(agents):
        # Every row has every key (an agent may only have written notes, or only first replies).
        row = {**_EMPTY_AGENT, "name": agent_names.get(agent_id), **agents[agent_id]}
        agent_rows.append(row)

    top = [r for r in figures.rates["brand_account_id"] if r["brand_account_id"]]
    top = top[:MAX_BRANDS]
    brand_stats = (
        stats_by(
            session,
            c.first_response_s,
            [*where, c.brand_account_id.in_([int(r["brand_account_id"]) for r in top])],
            c.brand_account_id,
        )
        if top
        else {}
    )
    brands = [
        {
            "account_id": int(r["brand_account_id"]),
            "conversations": r["conversations"],
            "first_response_minutes": brand_stats.get(int(r["brand_account_id"]), dict(EMPTY)),
        }
        for r in top
    ]
    handles = _names(session, ChannelAccount, {b["account_id"] for b in brands}, "handle")
    for b in brands:
        b["handle"] = handles.get(b["account_id"])

    by_team = figures.rates["team_id"]
    team_names = _names(session, Team, {int(r["team_id"]) for r in by_team}, "name")

    schedules = _schedules(session, f.workspace_ids, f.team_id)
    volume, inbound_grid, opened_grid = _volume(session, f, tz, schedules)

    lo, hi = q.period_bounds(session, replace(f, full_scan=False))
    since = f.since or lo
    until = f.until or (hi + timedelta(seconds=1) if hi else None)
    if since is not None and until is not None:
        weekdays = weekday_counts(since, until, tz)
    else:
        weekdays = [0] * 7
    scheduled, known = scheduled_grid(session, f.workspace_ids, f.team_id, tz, until or clock.now())
    aht = float(totals["aht_seconds"]) if totals["aht_seconds"] else None
    staffing = staffing_section(
        arrivals_grid(opened_grid, weekdays), aht, scheduled, known, req.staffing
    )

    def rate(num: int, den: int) -> float | None:
        return round(num / den, 6) if den else None

    return {
        "schema": SCHEMA,
        "generated_at": clock.now().isoformat(),
        "scope": {
            "workspaces": [{"id": w.id, "name": w.name} for w in workspaces],
            "all_workspaces": req.workspace is None and req.workspace_ids is None,
            "timezone": str(tz),
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "filters": {
                "team_id": f.team_id,
                "channel": f.channel,
                "language": f.language,
                "kind": f.kind,
            },
        },
        "conversations": conversations,
        "inbound_messages": int(totals["inbound_messages"]),
        "first_response_minutes": figures.durations["frt"],
        "first_response_business_minutes": figures.durations["bfrt"],
        "first_response_distribution": figures.distributions["frt"],
        "auto_acknowledgment_minutes": figures.durations["ack"],
        "response_rate": rate(answered, needed),
        "responses": {
            "needed_reply": needed,
            "answered": answered,
            "by_team": _with_names(by_team, "team_id", team_names, "team_name"),
            "by_channel": figures.rates["channel"],
            "by_kind": figures.rates["kind"],
            "by_language": figures.rates["language"],
        },
        "resolution_minutes": figures.durations["res"],
        "resolution_distribution": figures.distributions["res"],
        "reopen_rate": rate(reopened, ever_resolved),
        "reopens": {"resolved": resolved, "ever_resolved": ever_resolved, "reopened": reopened},
        "sla": sla,
        "abandonment_rate": rate(abandoned, conversations),
        "abandonment": {
            "abandoned": abandoned,
            "conversations": conversations,
            "reasons": q.abandon_reasons(session, where) if abandoned else {},
        },
        "csat": q.csat_summary(totals),
        "follow_ups": {
            "scheduled": int(totals["follow_ups_scheduled"]),
            "kept": int(totals["follow_ups_done"]),
            "missed": int(totals["follow_ups_missed"]),
            "kept_rate": rate(
                int(totals["follow_ups_done"]),
                int(totals["follow_ups_done"]) + int(totals["follow_ups_missed"]),
            ),
        },
        "agents": agent_rows,
        "brands": brands,
        "volume": volume,
        "volume_by_weekday_hour": inbound_grid,
        "conversations_by_weekday_hour": opened_grid,
        "staffing": staffing,
    }


def narrowed(req: ReportRequest, **changes: Any) -> ReportRequest:
    """The same request with some filters changed (for drill-down links)."""
    return replace(req, **changes)
