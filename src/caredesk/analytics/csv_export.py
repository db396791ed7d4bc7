"""CSV views of the report's tables (every chart has a table and an export)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from caredesk.analytics.staffing import WEEKDAY_NAMES


def _grid(grid: Sequence[Sequence[Any]]) -> list[list[Any]]:
    rows: list[list[Any]] = [["weekday", *[f"{h:02d}" for h in range(24)]]]
    for d, row in enumerate(grid):
        rows.append([WEEKDAY_NAMES[d], *row])
    return rows


def _records(records: Iterable[dict[str, Any]]) -> list[list[Any]]:
    flat = [_flatten(r) for r in records]
    columns: list[str] = []
    for r in flat:
        for key in r:
            if key not in columns:
                columns.append(key)
    return [columns, *[[r.get(c) for c in columns] for r in flat]]


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = " ".join(str(v) for v in value)
        else:
            out[name] = value
    return out


def _sla(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"target": t, **v} for t, v in report["sla"].items()]


def _summary(report: dict[str, Any]) -> list[dict[str, Any]]:
    keep = (
        "conversations",
        "inbound_messages",
        "response_rate",
        "reopen_rate",
        "abandonment_rate",
        "first_response_minutes",
        "first_response_business_minutes",
        "auto_acknowledgment_minutes",
        "resolution_minutes",
        "csat",
        "follow_ups",
    )
    return [{k: report[k] for k in keep}]


TABLES: dict[str, Callable[[dict[str, Any]], list[list[Any]]]] = {
    "summary": lambda r: _records(_summary(r)),
    "volume_by_weekday_hour": lambda r: _grid(r["volume_by_weekday_hour"]),
    "conversations_by_weekday_hour": lambda r: _grid(r["conversations_by_weekday_hour"]),
    "responses_by_team": lambda r: _records(r["responses"]["by_team"]),
    "responses_by_channel": lambda r: _records(r["responses"]["by_channel"]),
    "responses_by_kind": lambda r: _records(r["responses"]["by_kind"]),
    "responses_by_language": lambda r: _records(r["responses"]["by_language"]),
    "sla": lambda r: _records(_sla(r)),
    "abandonment_reasons": lambda r: [
        ["reason", "conversations"],
        *[[k, v] for k, v in r["abandonment"]["reasons"].items()],
    ],
    "agents": lambda r: _records(r["agents"]),
    "brands": lambda r: _records(r["brands"]),
    "staffing": lambda r: _records(r["staffing"].get("hours", [])),
    "understaffed": lambda r: _records(r["staffing"].get("understaffed", [])),
}


def report_csv(report: dict[str, Any], table: str) -> str:
    """One table of a built report as CSV text. ``KeyError`` for an unknown table."""
    rows = TABLES[table](report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()
