"""``caredesk report --json``: the report as one JSON document (wired into cli.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
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


def _blank(value: str | None) -> str | None:
    # Web forms send "" for "any"; the report treats that like an absent filter.
    value = value.strip() if value else None
    return value or None


def make_request(
    *,
    workspace: str | None = None,
    workspace_ids: tuple[int, ...] | None = None,
    since: str | None = None,
    until: str | None = None,
    tz: str | None = None,
    team: str | int | None = None,
    channel: str | None = None,
    language: str | None = None,
    kind: str | None = None,
    staffing: StaffingOptions | None = None,
) -> ReportRequest:
    """A report request from loosely typed parameters (query strings, CLI options), with a
    clear message naming the parameter that is wrong."""
    team_text = _blank(str(team)) if team is not None else None
    if team_text is not None and not team_text.isdigit():
        raise ValidationFailed(f"team must be a team id (got {team_text!r})")
    return ReportRequest(
        workspace=_blank(workspace),
        workspace_ids=workspace_ids,
        since=parse_date(_blank(since), "since"),
        until=parse_date(_blank(until), "until"),
        timezone=_blank(tz),
        team_id=int(team_text) if team_text else None,
        channel=_blank(channel),
        language=_blank(language),
        kind=_blank(kind),
        staffing=staffing or StaffingOptions(),
    )


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
    req = make_request(
        workspace=workspace,
        since=since,
        until=until,
        tz=tz,
        team=team_id,
        channel=channel,
        language=language,
        kind=kind,
        staffing=staffing,
    )
    with unit_of_work(sessions) as session:
        return build_report(session, clock, req, settle_seconds=settle_seconds)


def report_json(report: dict[str, Any], *, indent: int | None = 2) -> str:
    return json.dumps(report, indent=indent, ensure_ascii=False, sort_keys=False)


def staffing_options(
    *,
    target_minutes: float = 60.0,
    service_level: float = 0.8,
    shrinkage: float = 0.3,
    concurrency: int = 3,
    aht_minutes: float | None = None,
) -> StaffingOptions:
    """Staffing assumptions, checked up front so a bad one is a 4xx naming it."""
    if not 0 < target_minutes <= 7 * 24 * 60:
        raise ValidationFailed("target_minutes must be between 0 and one week")
    if not 0 < service_level < 1:
        raise ValidationFailed("service_level must be between 0 and 1 (e.g. 0.8)")
    if not 0 <= shrinkage < 1:
        raise ValidationFailed("shrinkage must be at least 0 and below 1 (e.g. 0.3)")
    if not 1 <= concurrency <= 20:
        raise ValidationFailed("concurrency must be a whole number from 1 to 20")
    if aht_minutes is not None and not 0 < aht_minutes <= 24 * 60:
        raise ValidationFailed("aht_minutes must be between 0 and 1440")
    return StaffingOptions(
        target_seconds=target_minutes * 60.0,
        target_service_level=service_level,
        shrinkage=shrinkage,
        concurrency=concurrency,
        aht_seconds=aht_minutes * 60.0 if aht_minutes else None,
    )


def request_from_params(
    params: Mapping[str, str | None],
    *,
    workspace_ids: tuple[int, ...] | None,
    staffing: StaffingOptions | None = None,
) -> ReportRequest:
    """``make_request`` from a mapping of filter names (web forms, query strings)."""
    return make_request(
        workspace=params.get("workspace"),
        workspace_ids=workspace_ids,
        since=params.get("since"),
        until=params.get("until"),
        tz=params.get("tz"),
        team=params.get("team"),
        channel=params.get("channel"),
        language=params.get("language"),
        kind=params.get("kind"),
        staffing=staffing,
    )
