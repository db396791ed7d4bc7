"""Reports pages: the report of the signed-in agent's workspaces, drawn as server-side SVG.

Charts are plain SVG built here (no CDN, no chart library); each has a table view next to it and
a CSV export through the JSON API. All text reaches the page through autoescaped templates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.analytics import queries as q
from caredesk.analytics.csv_export import TABLES
from caredesk.analytics.report import build_report, find_workspaces, resolve_filter
from caredesk.analytics.report_command import request_from_params, staffing_options
from caredesk.analytics.rollup import refresh_rollups
from caredesk.analytics.staffing import WEEKDAY_NAMES
from caredesk.conversations.access import workspace_ids_of
from caredesk.httpkit.deps import LoginRequired, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import CaredeskError, NotFound
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, Team, Workspace
from caredesk.web.i18n import translator
from caredesk.web.render import page

router = APIRouter(include_in_schema=False)

KINDS = ("care", "sales", "engagement", "noise")
CHANNELS = ("x", "mastodon", "facebook", "instagram", "email", "webform", "chat", "generic")
DRILL_LABELS = {
    "sla_first_response_breached": "First-response SLA missed",
    "sla_next_response_breached": "Next-response SLA missed",
    "sla_resolution_breached": "Resolution SLA missed",
    "abandoned": "Abandoned",
    "reopened": "Reopened",
    "unanswered": "Needed a reply, never got one",
    "dissatisfied": "CSAT 1-3",
    "follow_up_missed": "Follow-up missed",
}
# Names shown for codes (the codes stay in links and the API); each is a msgid in web/locale.
CHANNEL_NAMES = {
    "x": "X (Twitter)", "mastodon": "Mastodon", "facebook": "Facebook", "instagram": "Instagram",
    "email": "Email", "webform": "Web form", "chat": "Chat", "generic": "Generic API",
}  # fmt: skip
SLA_NAMES = {
    "first_response": "SLA first response met",
    "next_response": "SLA next response met",
    "resolution": "SLA resolution met",
}
AHT_SOURCES = {"option": "set by you", "measured": "measured", "default": "default"}
WEEKDAYS = {
    "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
    "fri": "Friday", "sat": "Saturday", "sun": "Sunday",
}  # fmt: skip
# The analytics stage words its advice in English; these patterns carry it into the agent's
# language with the figure kept (an unknown flag is shown as it came).
FLAGS = (
    (
        re.compile(r"^(\d+%) of customer posts arrive outside business hours\."),
        "{share} of customer posts arrive outside business hours. Consider longer or staggered "
        "hours, or an automatic reply that says when you will answer.",
    ),
    (
        re.compile(r"^(\d+%) of customer posts arrive between 7 pm and 3 am\."),
        "{share} of customer posts arrive between 7 pm and 3 am. Plan an evening shift or cover "
        "from another time zone.",
    ),
)
Gettext = Callable[..., str]


def translate_flag(_: Gettext, flag: str) -> str:
    for pattern, msgid in FLAGS:
        found = pattern.match(flag)
        if found:
            return _(msgid, share=found.group(1))
    return flag


FILTER_KEYS = ("workspace", "since", "until", "tz", "team", "channel", "language", "kind")


def _shade(value: float, top: float, hue: tuple[int, int, int] = (31, 95, 191)) -> str:
    """White to ``hue`` by share of the maximum; a non-zero value is never pure white."""
    if top <= 0 or value <= 0:
        return "#f4f6f9"
    t = 0.12 + 0.88 * min(1.0, value / top)
    r, g, b = (round(255 - (255 - c) * t) for c in hue)
    return f"#{r:02x}{g:02x}{b:02x}"


def _english(message: str, **values: object) -> str:
    return message.format(**values) if values else message


def heat_map(grid: list[list[Any]], unit: str, _: Gettext = _english) -> dict[str, Any]:
    """7 x 24 cells with colours and tooltips; Monday first, hours in the report's zone.
    ``unit`` is a msgid with ``{n}`` (e.g. "{n} inbound posts")."""
    top = max((float(v) for row in grid for v in row), default=0.0)
    cells = []
    for d, row in enumerate(grid):
        for h, v in enumerate(row):
            value = float(v)
            cells.append(
                {
                    "x": 40 + h * 26,
                    "y": 18 + d * 24,
                    "fill": _shade(value, top),
                    "dark": top > 0 and value / top > 0.55,
                    "label": f"{value:g}" if value else "",
                    "title": f"{_(WEEKDAYS[WEEKDAY_NAMES[d]])} {h:02d}:00 – "
                    + _(unit, n=f"{value:g}"),
                }
            )
    return {"cells": cells, "max": top, "days": WEEKDAY_NAMES, "unit": unit}


def shortfall_map(staffing: dict[str, Any], _: Gettext = _english) -> dict[str, Any] | None:
    rec = staffing.get("recommended_by_weekday_hour")
    sched = staffing.get("scheduled_by_weekday_hour")
    if not rec or not sched:
        return None
    cells = []
    for d in range(7):
        for h in range(24):
            need, have = int(rec[d][h]), int(sched[d][h])
            short = need > have and staffing.get("schedules_known")
            fill = "#f4f6f9" if need == 0 else ("#fbd5d0" if short else "#d3f3e0")
            cells.append(
                {
                    "x": 40 + h * 26,
                    "y": 18 + d * 24,
                    "fill": fill,
                    "dark": False,
                    "label": str(need) if need else "",
                    "title": f"{_(WEEKDAYS[WEEKDAY_NAMES[d]])} {h:02d}:00 – "
                    + _("need {need}, scheduled {have}", need=need, have=have),
                }
            )
    return {"cells": cells, "days": WEEKDAY_NAMES}


def bars(rows: list[tuple[str, float]], fmt: str = "{:g}") -> dict[str, Any]:
    """Horizontal bars: label, length by share of the largest value."""
    top = max((v for _, v in rows), default=0.0)
    out = []
    for i, (label, value) in enumerate(rows):
        width = 0 if top <= 0 else max(2, round(300 * value / top))
        out.append(
            {"y": i * 26, "label": label, "width": width, "text": fmt.format(value), "v": value}
        )
    return {"rows": out, "height": max(26, 26 * len(rows))}


def trend_chart(points: list[dict[str, Any]], _: Gettext = _english) -> dict[str, Any]:
    """Columns of new conversations per period (day or week)."""
    n = len(points)
    top = max((p["conversations"] for p in points), default=0)
    width = 640
    step = width / n if n else width
    cols = []
    for i, p in enumerate(points):
        h = 0 if top == 0 else round(130 * p["conversations"] / top)
        cols.append(
            {
                "x": round(i * step, 2),
                "w": max(1.0, round(step * 0.8, 2)),
                "y": 140 - h,
                "h": h,
                "title": f"{p['period']}: "
                + _(
                    "{n} conversations, {m} inbound messages",
                    n=p["conversations"],
                    m=p["inbound_messages"],
                ),
            }
        )
    ticks = [points[i]["period"] for i in (0, n // 2, n - 1)] if n >= 3 else []
    return {"cols": cols, "max": top, "ticks": ticks, "width": width}


def _query_string(params: dict[str, str]) -> str:
    return urlencode({k: v for k, v in params.items() if v})


def _context(session: Session, agent: Agent, params: dict[str, str], rt: Runtime) -> dict[str, Any]:
    allowed = workspace_ids_of(session, agent)
    req = request_from_params(params, workspace_ids=allowed, staffing=staffing_options())
    data = build_report(session, rt.clock, req)
    ids = [w["id"] for w in data["scope"]["workspaces"]]
    teams = list(
        session.execute(
            select(Team.id, Team.name)
            .where(Team.workspace_id.in_(ids), Team.deleted_at.is_(None))
            .order_by(Team.name)
        )
    )
    workspaces = list(
        session.execute(
            select(Workspace.id, Workspace.name)
            .where(Workspace.id.in_(allowed))
            .order_by(Workspace.name)
        )
    )
    responses = data["responses"]
    _ = translator(agent.ui_language)

    def rate_rows(rows: list[dict[str, Any]], key: str) -> list[tuple[str, float]]:
        return [
            (
                _(CHANNEL_NAMES.get(str(r.get(key)), str(r.get(key) or "unknown"))),
                100.0 * r["response_rate"],
            )
            for r in rows
            if r["response_rate"] is not None
        ]

    return {
        "r": data,
        "params": params,
        "qs": _query_string(params),
        "teams": teams,
        "workspaces": workspaces,
        "kinds": KINDS,
        "channels": CHANNELS,
        "tables": list(TABLES),
        "drill_labels": DRILL_LABELS,
        "channel_names": CHANNEL_NAMES,
        "sla_names": SLA_NAMES,
        "aht_sources": AHT_SOURCES,
        "weekdays": WEEKDAYS,
        "flags": [translate_flag(_, flag) for flag in data["volume"]["flags"]],
        "volume_heat": heat_map(data["volume_by_weekday_hour"], "{n} inbound posts", _),
        "staff_heat": shortfall_map(data["staffing"], _),
        "frt_bars": bars(
            [(_(b["bucket"]), float(b["count"])) for b in data["first_response_distribution"]]
        ),
        "res_bars": bars(
            [(_(b["bucket"]), float(b["count"])) for b in data["resolution_distribution"]]
        ),
        "channel_bars": bars(rate_rows(responses["by_channel"], "channel"), "{:.0f}%"),
        "kind_bars": bars(rate_rows(responses["by_kind"], "kind"), "{:.0f}%"),
        "team_bars": bars(
            [
                (str(r.get("team_name") or _("No team")), 100.0 * r["response_rate"])
                for r in responses["by_team"]
                if r["response_rate"] is not None
            ],
            "{:.0f}%",
        ),
        "trend_chart": trend_chart(data["volume"]["trend"]["points"], _),
    }


def filter_params(
    workspace: str = Query("", max_length=200),
    since: str = Query("", max_length=10),
    until: str = Query("", max_length=10),
    tz: str = Query("", max_length=64),
    team: str = Query("", max_length=20),
    channel: str = Query("", max_length=30),
    language: str = Query("", max_length=8),
    kind: str = Query("", max_length=12),
) -> dict[str, str]:
    values = (workspace, since, until, tz, team, channel, language, kind)
    return dict(zip(FILTER_KEYS, values, strict=True))


def _agent(session: Session, ws: WebSession) -> Agent:
    agent = session.get(Agent, ws.agent_id)
    if agent is None or not agent.is_active:
        raise LoginRequired("please sign in")
    return agent


@router.get("/reports")
def reports_page(
    request: Request,
    params: dict[str, str] = Depends(filter_params),
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> HTMLResponse:
    with unit_of_work(rt.sessions) as session:
        agent = _agent(session, ws)
        base = {"agent": agent, "csrf": ws.csrf, "nav": "reports", "params": params}
        try:
            ctx = _context(session, agent, params, rt)
        except NotFound as exc:
            return page(request, "reports_error.html", {**base, "error": exc.message}, 404)
        except CaredeskError as exc:
            return page(request, "reports_error.html", {**base, "error": exc.message}, 422)
        return page(request, "reports.html", {**base, **ctx})


@router.get("/reports/drill/{metric}")
def drill_page(
    request: Request,
    metric: str,
    params: dict[str, str] = Depends(filter_params),
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> HTMLResponse:
    with unit_of_work(rt.sessions) as session:
        agent = _agent(session, ws)
        base = {"agent": agent, "csrf": ws.csrf, "nav": "reports", "params": params}
        if metric not in DRILL_LABELS:
            return page(request, "reports_error.html", {**base, "error": "unknown figure"}, 404)
        try:
            req = request_from_params(params, workspace_ids=workspace_ids_of(session, agent))
            refresh_rollups(session, rt.clock)
            f, tz_info = resolve_filter(
                session, req, find_workspaces(session, req.workspace, req.workspace_ids)
            )
        except NotFound as exc:
            return page(request, "reports_error.html", {**base, "error": exc.message}, 404)
        except CaredeskError as exc:
            return page(request, "reports_error.html", {**base, "error": exc.message}, 422)
        ids = q.drill_down(session, q.facts_where(f), metric, limit=500)
        return page(
            request,
            "reports_drill.html",
            {
                **base,
                "metric": metric,
                "label": DRILL_LABELS[metric],
                "ids": ids,
                "qs": _query_string(params),
                "tz": str(tz_info),
            },
        )
