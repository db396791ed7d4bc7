"""``caredesk report --json``: the report as one JSON document (wired into cli.py)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from caredesk.analytics.report import ReportRequest, build_report
from caredesk.analytics.rollup import DEFAULT_SETTLE_SECONDS
from caredesk.analytics.staffing_report import StaffingOptions
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import ValidationFailed


def parse_date(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be a date YYYY-MM-DD (got {value!r})") from exc


def run_report(
    sessions: sessionmaker[Session],
    clock: Clock,
    *,
    workspace: str | None = None,
    since: str | None = None,
    until: str | None = None,
    tz: str | None = None,
    team_id: int | None = None,
    channel: str | None = None,
    language: str | None = None,
    kind: str | None = None,
    staffing: StaffingOptions | None = None,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> dict[str, Any]:
    """Fold new events into the rollups and build the report, in one transaction."""
    req = ReportRequest(
        workspace=workspace,
        since=parse_date(since, "since"),
        until=parse_date(until, "until"),
        timezone=tz,
        team_id=team_id,
        channel=channel,
        language=language,
        kind=kind,
        staffing=staffing or StaffingOptions(),
    )
    with unit_of_work(sessions) as session:
        return build_report(session, clock, req, settle_seconds=settle_seconds)


def report_json(report: dict[str, Any], *, indent: int | None = 2) -> str:
    return json.dumps(report, indent=indent, ensure_ascii=False, sort_keys=False)
