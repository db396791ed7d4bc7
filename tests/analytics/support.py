"""Shared by the report tests: write an event by hand, build a report with no settle delay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredesk.analytics.report import ReportRequest, build_report
from caredesk.events import E, record
from caredesk.models import Conversation


def record_event(
    session, clock, c: Conversation, name: E, at: datetime, agent=None, **payload: Any
) -> None:
    record(
        session,
        clock,
        workspace_id=c.workspace_id,
        conversation_id=c.id,
        name=name,
        actor_kind="agent" if agent else "system",
        actor_agent_id=agent.id if agent else None,
        occurred_at=at,
        payload=payload,
        live=False,
    )


def report(session, clock, **kw: Any) -> dict[str, Any]:
    data = build_report(session, clock, ReportRequest(**kw), settle_seconds=0)
    session.flush()
    return data
