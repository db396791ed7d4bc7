"""JSON and CSV reports, scoped to the workspaces of the signed-in agent.

A report first folds new events into the rollups, so every handler opens a write unit of work.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from caredesk.analytics import queries as q
from caredesk.analytics.csv_export import TABLES, report_csv
from caredesk.analytics.report import ReportRequest, build_report, find_workspaces, resolve_filter
from caredesk.analytics.report_command import request_from_params, staffing_options
from caredesk.analytics.rollup import refresh_rollups
from caredesk.conversations.access import workspace_ids_of
from caredesk.httpkit.deps import LoginRequired, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import NotFound
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


class ReportQuery:
    """The filters every report endpoint takes (all optional; "" means "any")."""

    def __init__(
        self,
        workspace: str | None = Query(None, max_length=200),
        since: str | None = Query(None, max_length=10, description="YYYY-MM-DD, inclusive"),
        until: str | None = Query(None, max_length=10, description="YYYY-MM-DD, inclusive"),
        tz: str | None = Query(None, max_length=64, description="IANA time zone"),
        team: str | None = Query(None, max_length=20),
        channel: str | None = Query(None, max_length=30),
        language: str | None = Query(None, max_length=8),
        kind: str | None = Query(None, max_length=12),
        target_minutes: float = Query(60.0),
        service_level: float = Query(0.8),
        shrinkage: float = Query(0.3),
        concurrency: int = Query(3),
        aht_minutes: float | None = Query(None),
    ) -> None:
        self.params: dict[str, Any] = {
            "workspace": workspace,
            "since": since,
            "until": until,
            "tz": tz,
            "team": team,
            "channel": channel,
            "language": language,
            "kind": kind,
        }
        self.staffing: dict[str, Any] = {
            "target_minutes": target_minutes,
            "service_level": service_level,
            "shrinkage": shrinkage,
            "concurrency": concurrency,
            "aht_minutes": aht_minutes,
        }

    def request(self, session: Session, agent_id: int) -> ReportRequest:
        agent = session.get(Agent, agent_id)
        if agent is None or not agent.is_active:
            raise LoginRequired("please sign in")
        # Only the agent's own workspaces, whatever the query names: a workspace the agent
        # does not belong to reads as "not found", like a conversation would.
        return request_from_params(
            self.params,
            workspace_ids=workspace_ids_of(session, agent),
            staffing=staffing_options(**self.staffing),
        )


def _build(rt: Runtime, ws: WebSession, query: ReportQuery) -> dict[str, Any]:
    with unit_of_work(rt.sessions) as session:
        return build_report(session, rt.clock, query.request(session, ws.agent_id))


@router.get("")
def report(
    query: ReportQuery = Depends(),
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """Every figure of the report (schema: docs/report-schema.md)."""
    return _build(rt, ws, query)


@router.get("/csv/{table}", response_class=PlainTextResponse)
def report_table_csv(
    table: str,
    query: ReportQuery = Depends(),
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> PlainTextResponse:
    """One table of the report as CSV (the table view of a chart)."""
    if table not in TABLES:
        raise NotFound(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    data = _build(rt, ws, query)
    return PlainTextResponse(
        report_csv(data, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="caredesk-{table}.csv"'},
    )


@router.get("/drill/{metric}")
def drill_down(
    metric: str,
    limit: int = Query(200, ge=1, le=1000),
    query: ReportQuery = Depends(),
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> dict[str, Any]:
    """The conversations behind a figure (SLA breaches, abandoned, reopened, ...)."""
    if metric not in q.DRILL_DOWN_METRICS:
        raise NotFound(f"unknown metric {metric!r}; metrics: {', '.join(q.DRILL_DOWN_METRICS)}")
    with unit_of_work(rt.sessions) as session:
        req = query.request(session, ws.agent_id)
        refresh_rollups(session, rt.clock)
        workspaces = find_workspaces(session, req.workspace, req.workspace_ids)
        f, _tz = resolve_filter(session, req, workspaces)
        ids = q.drill_down(session, q.facts_where(f), metric, limit=limit)
    return {"metric": metric, "filter": f.to_dict(), "conversation_ids": ids}
