"""Promised contacts (S18): scheduled, due in the agent's queue, done, or missed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock, ensure_utc
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.models import Agent, Conversation, FollowUp, Workspace

KINDS = ("call", "email", "dm", "sms")
MAX_AHEAD = timedelta(days=366)
DEFAULT_GRACE_MINUTES = 60


def grace(workspace: Workspace | None) -> timedelta:
    """Setting ``follow_up_grace_minutes``: how late a follow-up may be before it is missed."""
    raw = (workspace.settings or {}).get("follow_up_grace_minutes") if workspace else None
    try:
        minutes = float(raw) if raw is not None else DEFAULT_GRACE_MINUTES
    except (TypeError, ValueError):
        minutes = DEFAULT_GRACE_MINUTES
    return timedelta(minutes=max(0.0, minutes))


def do_schedule_follow_up(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent: Agent,
    *,
    kind: str,
    due_at: datetime,
    note: str = "",
    owner: Agent | None = None,
) -> FollowUp:
    if kind not in KINDS:
        raise ValidationFailed(f"follow-up kind must be one of {', '.join(KINDS)}")
    if due_at.tzinfo is None:
        raise ValidationFailed("the follow-up time needs a time zone")
    now = clock.now()
    due_at = ensure_utc(due_at)
    if due_at <= now:
        raise ValidationFailed("a follow-up must be scheduled in the future")
    if due_at - now > MAX_AHEAD:
        raise ValidationFailed("a follow-up can be scheduled at most a year ahead")
    text = (note or "").strip()
    if len(text) > 2000:
        raise ValidationFailed("the follow-up note is longer than 2000 characters")
    follow_up = FollowUp(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        agent_id=(owner or agent).id,
        kind=kind,
        due_at=due_at,
        note=text,
        status="scheduled",
        created_at=now,
    )
    session.add(follow_up)
    session.flush()
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.FOLLOW_UP_SCHEDULED,
        actor_kind="agent",
        actor_agent_id=agent.id,
        payload={
            "follow_up_id": follow_up.id,
            "kind": kind,
            "due_at": due_at.isoformat(),
            "owner_id": follow_up.agent_id,
        },
    )
    return follow_up


def _finish(
    session: Session, clock: Clock, follow_up: FollowUp, agent: Agent, status: str
) -> FollowUp:
    if follow_up.status in ("done", "cancelled"):
        raise Conflict(f"this follow-up is already {follow_up.status}")
    now = clock.now()
    late = follow_up.status == "missed" or now > follow_up.due_at
    follow_up.status = status
    follow_up.done_at = now
    record(
        session,
        clock,
        workspace_id=follow_up.workspace_id,
        conversation_id=follow_up.conversation_id,
        name=E.FOLLOW_UP_DONE if status == "done" else E.FOLLOW_UP_CANCELLED,
        actor_kind="agent",
        actor_agent_id=agent.id,
        payload={"follow_up_id": follow_up.id, "kind": follow_up.kind, "late": late},
    )
    return follow_up


def do_complete_follow_up(
    session: Session, clock: Clock, follow_up: FollowUp, agent: Agent
) -> FollowUp:
    return _finish(session, clock, follow_up, agent, "done")


def do_cancel_follow_up(
    session: Session, clock: Clock, follow_up: FollowUp, agent: Agent
) -> FollowUp:
    return _finish(session, clock, follow_up, agent, "cancelled")


def follow_ups_due(session: Session, agent_id: int, now: datetime) -> list[FollowUp]:
    """The agent's follow-ups that are due now or overdue (missed but not done), oldest first."""
    return list(
        session.execute(
            select(FollowUp)
            .where(
                FollowUp.agent_id == agent_id,
                FollowUp.status.in_(("scheduled", "missed")),
                FollowUp.due_at <= now,
            )
            .order_by(FollowUp.due_at, FollowUp.id)
        ).scalars()
    )


def follow_ups_of(session: Session, conversation_id: int) -> list[FollowUp]:
    return list(
        session.execute(
            select(FollowUp)
            .where(FollowUp.conversation_id == conversation_id)
            .order_by(FollowUp.due_at, FollowUp.id)
        ).scalars()
    )


def do_mark_missed_follow_ups(session: Session, clock: Clock, *, limit: int = 500) -> int:
    """Sweep: scheduled follow-ups past due + grace become missed, with one event each.

    The ``status = 'scheduled'`` condition in the UPDATE is the compare-and-set that makes the
    event fire once even with several sweepers.
    """
    now = clock.now()
    candidates = session.execute(
        select(FollowUp, Workspace)
        .join(Workspace, Workspace.id == FollowUp.workspace_id)
        .where(FollowUp.status == "scheduled", FollowUp.due_at <= now)
        .order_by(FollowUp.due_at)
        .limit(limit)
    )
    marked = 0
    for follow_up, workspace in list(candidates):
        if follow_up.due_at + grace(workspace) > now:
            continue
        result = session.execute(
            update(FollowUp)
            .where(FollowUp.id == follow_up.id, FollowUp.status == "scheduled")
            .values(status="missed")
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            continue
        session.expire(follow_up, ["status"])
        marked += 1
        record(
            session,
            clock,
            workspace_id=follow_up.workspace_id,
            conversation_id=follow_up.conversation_id,
            name=E.FOLLOW_UP_MISSED,
            payload={
                "follow_up_id": follow_up.id,
                "kind": follow_up.kind,
                "owner_id": follow_up.agent_id,
                "due_at": follow_up.due_at.isoformat(),
            },
        )
    return marked
