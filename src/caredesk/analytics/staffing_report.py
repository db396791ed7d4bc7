"""Staffing from history: arrivals per weekday and hour, handling time, Erlang C, schedules.

- Arrivals: new conversations per local weekday and hour, averaged over how many times that
  weekday occurs in the period (a historic average per weekday).
- Average handling time (AHT), from events: per resolved conversation, from the moment an agent
  took it (first ``conversation.assigned``, else the first brand reply) until it was resolved or
  closed, capped at 8 hours; the mean over the period's conversations. Without data: 10 minutes.
- Scheduled agents: members (not backups) of the teams whose business hours are open at that
  local weekday and hour in the most recent week of the period. A team without business hours is
  open all the time, as everywhere else in the desk (its SLA clocks never stop), so its members
  count at every hour. With no team members at all, nothing is compared or flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.analytics.staffing import (
    WEEKDAY_NAMES,
    StaffingInputInvalid,
    compare_with_schedule,
    recommend_staffing,
)
from caredesk.kit.business_hours import BusinessHours
from caredesk.models import Team, TeamMember

DEFAULT_AHT_SECONDS = 600.0
MIN_AHT_SECONDS = 60.0


@dataclass(frozen=True)
class StaffingOptions:
    target_seconds: float = 3600.0  # "80% answered within 1 h"
    target_service_level: float = 0.8
    shrinkage: float = 0.3
    concurrency: int = 3
    aht_seconds: float | None = None  # None = measured from the event log


def weekday_counts(since: datetime, until: datetime, tz: ZoneInfo) -> list[int]:
    """How many times each local weekday (Monday first) occurs in ``[since, until)``."""
    counts = [0] * 7
    first = since.astimezone(tz).date()
    last = (until - timedelta(microseconds=1)).astimezone(tz).date()
    days = (last - first).days + 1
    full_weeks, rest = divmod(max(days, 0), 7)
    for i in range(7):
        counts[i] = full_weeks
    for k in range(rest):
        counts[(first + timedelta(days=full_weeks * 7 + k)).weekday()] += 1
    return counts


def arrivals_grid(
    local_counts: Sequence[Sequence[int]], weekdays: Sequence[int]
) -> list[list[float]]:
    return [
        [round(local_counts[d][h] / weekdays[d], 6) if weekdays[d] else 0.0 for h in range(24)]
        for d in range(7)
    ]


def scheduled_grid(
    session: Session,
    workspace_ids: Sequence[int] | None,
    team_id: int | None,
    tz: ZoneInfo,
    reference: datetime,
) -> tuple[list[list[int]], bool]:
    """People on shift per local weekday/hour, and whether any team has members to count."""
    stmt = select(Team).where(Team.deleted_at.is_(None))
    if workspace_ids is not None:
        stmt = stmt.where(Team.workspace_id.in_(workspace_ids))
    if team_id is not None:
        stmt = stmt.where(Team.id == team_id)
    teams = list(session.execute(stmt).scalars())
    grid = [[0] * 24 for _ in range(7)]
    if not teams:
        return grid, False
    members: dict[int, set[int]] = {t.id: set() for t in teams}
    for tid, aid in session.execute(
        select(TeamMember.team_id, TeamMember.agent_id).where(
            TeamMember.team_id.in_(list(members)), TeamMember.is_backup.is_(False)
        )
    ):
        members[tid].add(aid)
    hours: list[tuple[BusinessHours, set[int]]] = []
    for t in teams:
        try:
            bh = BusinessHours.from_dict(t.business_hours or None, timezone=t.timezone, holidays=[])
        except ValueError:
            continue  # a broken schedule is reported by its owners, not here
        hours.append((bh, members[t.id]))
    if not any(people for _bh, people in hours):
        return grid, False
    # The week (Monday first) that ends on the reference day, in the report's zone.
    ref_day: date = reference.astimezone(tz).date()
    monday = ref_day - timedelta(days=ref_day.weekday())
    for d in range(7):
        for h in range(24):
            at = datetime.combine(monday + timedelta(days=d), time(h, 30), tzinfo=tz)
            on: set[int] = set()
            for bh, people in hours:
                if bh.is_open(at):
                    on |= people
            grid[d][h] = len(on)
    return grid, True


def staffing_section(
    arrivals: list[list[float]],
    aht_measured: float | None,
    scheduled: list[list[int]],
    schedules_known: bool,
    options: StaffingOptions,
) -> dict[str, Any]:
    aht = options.aht_seconds or aht_measured or DEFAULT_AHT_SECONDS
    aht = max(aht, MIN_AHT_SECONDS)
    try:
        plan = recommend_staffing(
            arrivals,
            aht,
            options.target_seconds,
            options.target_service_level,
            shrinkage=options.shrinkage,
            concurrency=options.concurrency,
        )
    except StaffingInputInvalid as exc:
        return {"error": exc.message}
    # Without anyone on a team there is no schedule to fall short of.
    short = compare_with_schedule(plan, scheduled) if schedules_known else []
    hours = []
    for h in plan.hours:
        hours.append(
            {
                "weekday": h.weekday,
                "weekday_name": WEEKDAY_NAMES[h.weekday],
                "hour": h.hour,
                "arrivals_per_hour": h.arrivals_per_hour,
                "recommended_agents": h.agents,
                "agents_on_queue": h.raw_agents,
                "scheduled_agents": scheduled[h.weekday][h.hour],
                "expected_service_level": round(h.service_level, 6),
                "occupancy": round(h.occupancy, 6),
            }
        )
    return {
        "model": "erlang_c",
        "aht_seconds": round(aht, 3),
        "aht_source": "option"
        if options.aht_seconds
        else ("measured" if aht_measured else "default"),
        "target_seconds": options.target_seconds,
        "target_service_level": options.target_service_level,
        "shrinkage": options.shrinkage,
        "concurrency": options.concurrency,
        "schedules_known": schedules_known,
        "recommended_by_weekday_hour": plan.grid("agents"),
        "scheduled_by_weekday_hour": scheduled,
        "arrivals_by_weekday_hour": arrivals,
        "hours": hours,
        "understaffed": [
            {
                "weekday": u.weekday,
                "weekday_name": WEEKDAY_NAMES[u.weekday],
                "hour": u.hour,
                "recommended": u.recommended,
                "scheduled": u.scheduled,
                "shortfall": u.shortfall,
                "expected_service_level": round(u.expected_service_level, 6),
            }
            for u in short
        ],
    }
