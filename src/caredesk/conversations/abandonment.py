"""Abandonment (S24): conversations the customer gave up on, marked once with the reason."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.models import Conversation, Workspace
from caredesk.models.conversation import OPEN_STATUSES

UNANSWERED = "customer's last message was never answered within the resolution target"
STOPPED = "customer stopped replying mid-process"
DEFAULT_UNANSWERED_HOURS = 24.0
DEFAULT_SILENCE_HOURS = 72.0


def _hours(workspace: Workspace, key: str, default: float) -> timedelta:
    raw = (workspace.settings or {}).get(key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = default
    return timedelta(hours=value if value > 0 else default)


def abandon_reason(c: Conversation, now: datetime, workspace: Workspace) -> str | None:
    """Pure: why this conversation counts as abandoned at ``now`` (or None)."""
    if c.abandoned_at is not None or c.status not in OPEN_STATUSES or c.status == "snoozed":
        return None
    last_in, last_out = c.last_inbound_at, c.last_outbound_at
    if last_in is None:
        return None
    if last_out is None or last_out < last_in:
        # Our turn, never taken: past the resolution target (or the workspace's fallback).
        limit = c.resolution_due_at or (
            last_in + _hours(workspace, "abandon_unanswered_hours", DEFAULT_UNANSWERED_HOURS)
        )
        return UNANSWERED if now >= limit else None
    # Their turn: we asked something and they went quiet.
    if c.status != "new" and now - last_out >= _hours(
        workspace, "abandon_silence_hours", DEFAULT_SILENCE_HOURS
    ):
        return STOPPED
    return None


def do_mark_abandoned(session: Session, clock: Clock, *, limit: int = 1000) -> int:
    """Sweep open conversations; mark each abandoned once (compare-and-set on abandoned_at)."""
    now = clock.now()
    marked = 0
    for workspace in session.execute(select(Workspace)).scalars().all():
        quiet_since = now - min(
            _hours(workspace, "abandon_unanswered_hours", DEFAULT_UNANSWERED_HOURS),
            _hours(workspace, "abandon_silence_hours", DEFAULT_SILENCE_HOURS),
        )
        candidates = session.execute(
            select(Conversation)
            .where(
                Conversation.workspace_id == workspace.id,
                Conversation.status.in_([s for s in OPEN_STATUSES if s != "snoozed"]),
                Conversation.abandoned_at.is_(None),
                or_(
                    Conversation.last_message_at <= quiet_since,
                    Conversation.resolution_due_at <= now,
                ),
            )
            .order_by(Conversation.last_message_at)
            .limit(limit)
        ).scalars()
        for c in list(candidates):
            reason = abandon_reason(c, now, workspace)
            if reason is None:
                continue
            result = session.execute(
                update(Conversation)
                .where(Conversation.id == c.id, Conversation.abandoned_at.is_(None))
                .values(abandoned_at=now, abandon_reason=reason)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                continue
            session.expire(c, ["abandoned_at", "abandon_reason"])
            marked += 1
            record(
                session,
                clock,
                workspace_id=c.workspace_id,
                conversation_id=c.id,
                name=E.ABANDONED,
                payload={"reason": reason, "status": c.status, "team_id": c.team_id},
            )
    return marked
