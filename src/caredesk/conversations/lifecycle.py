"""State changes of a conversation (S20), resolutions and their search."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caredesk.conversations import sla
from caredesk.conversations.csat import do_send_csat
from caredesk.conversations.states import ResolutionNote, check_transition
from caredesk.events import E, record
from caredesk.kit.clock import Clock, ensure_utc
from caredesk.models import Agent, Conversation, Resolution

_WORK_STATUSES = ("new", "acknowledged", "gathering_info", "in_progress")


def _record(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    name: E,
    agent: Agent | None,
    payload: dict[str, Any],
) -> None:
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=name,
        actor_kind="agent" if agent else "system",
        actor_agent_id=agent.id if agent else None,
        payload=payload,
    )


def do_change_status(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    status: str,
    *,
    agent: Agent | None,
    resolution: ResolutionNote | None = None,
    snooze_until: datetime | None = None,
    reason: str | None = None,
    send_csat: bool = True,
) -> Conversation:
    """Move the conversation through the resolution process, or refuse with a clear message."""
    now = clock.now()
    current = conversation.status
    check_transition(
        current,
        status,
        kind=conversation.kind,
        resolution=resolution,
        snooze_until=snooze_until,
        now=now,
    )
    was_paused = current in sla.PAUSED_STATUSES
    will_pause = status in sla.PAUSED_STATUSES
    if was_paused and not will_pause:
        sla.resume(session, conversation, now)
    if will_pause and not was_paused:
        sla.pause(conversation, now)
        conversation.sla_state = {**conversation.sla_state, "resume_to": current}
    conversation.snoozed_until = (
        ensure_utc(snooze_until) if status == "snoozed" and snooze_until is not None else None
    )
    conversation.status = status
    conversation.updated_at = now
    payload: dict[str, Any] = {"from": current, "to": status}
    if reason:
        payload["reason"] = reason[:500]
    if status == "snoozed":
        until = conversation.snoozed_until
        payload["until"] = until.isoformat() if until is not None else None
    _record(session, clock, conversation, E.STATUS_CHANGED, agent, payload)

    if status == "acknowledged" and conversation.acknowledged_at is None:
        conversation.acknowledged_at = now
    if status == "snoozed":
        _record(session, clock, conversation, E.SNOOZED, agent, {"until": payload["until"]})
    if status == "solved":
        conversation.solved_at = now
        _record(session, clock, conversation, E.RESOLVED, agent, {"from": current})
    if status == "closed":
        conversation.closed_at = now
        conversation.solved_at = conversation.solved_at or now
        resolution_id = None
        if resolution is not None:
            note = resolution.cleaned()
            row = Resolution(
                workspace_id=conversation.workspace_id,
                conversation_id=conversation.id,
                author_agent_id=agent.id if agent else None,
                problem=note.problem,
                cause=note.cause,
                fix=note.fix,
                created_at=now,
            )
            session.add(row)
            session.flush()
            resolution_id = row.id
        _record(
            session,
            clock,
            conversation,
            E.CLOSED,
            agent,
            {"from": current, "resolution_id": resolution_id},
        )
        if send_csat and conversation.kind != "noise":
            do_send_csat(session, clock, conversation)
    if current in ("solved", "closed") and status not in ("solved", "closed"):
        conversation.solved_at = None
        conversation.closed_at = None
        _record(session, clock, conversation, E.CONVERSATION_REOPENED, agent, {"from": current})
    sla.refresh_timer(conversation, now)
    session.flush()
    return conversation


def do_close(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    *,
    agent: Agent | None,
    problem: str,
    cause: str,
    fix: str,
) -> Conversation:
    return do_change_status(
        session,
        clock,
        conversation,
        "closed",
        agent=agent,
        resolution=ResolutionNote(problem, cause, fix),
    )


def do_reopen(
    session: Session, clock: Clock, conversation: Conversation, *, agent: Agent | None
) -> Conversation:
    return do_change_status(session, clock, conversation, "in_progress", agent=agent)


def do_wake_if_due(session: Session, clock: Clock, conversation: Conversation) -> bool:
    """A snoozed conversation whose time has come goes back to where it was."""
    now = clock.now()
    if conversation.status != "snoozed" or conversation.snoozed_until is None:
        return False
    if conversation.snoozed_until > now:
        return False
    _resume_from_pause(session, clock, conversation, now, why="snooze_ended")
    return True


def resume_on_customer_message(
    session: Session, clock: Clock, conversation: Conversation, at: datetime
) -> None:
    """The customer answered: pending/snoozed conversations come back to the desk."""
    if conversation.status in sla.PAUSED_STATUSES:
        _resume_from_pause(session, clock, conversation, clock.now(), why="customer_replied")


def _resume_from_pause(
    session: Session, clock: Clock, conversation: Conversation, now: datetime, *, why: str
) -> None:
    previous = conversation.status
    state = dict(conversation.sla_state or {})
    back_to = state.pop("resume_to", None)
    conversation.sla_state = state
    if back_to not in _WORK_STATUSES:
        back_to = "in_progress" if conversation.assignee_id else "new"
    sla.resume(session, conversation, now)
    conversation.status = back_to
    conversation.snoozed_until = None
    conversation.updated_at = now
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.WOKEN,
        payload={"from": previous, "to": back_to, "why": why},
    )
    sla.refresh_timer(conversation, now)


@dataclass(frozen=True)
class ResolutionHit:
    resolution: Resolution
    reference: str


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_resolutions(
    session: Session, workspace_ids: Sequence[int], query: str, *, limit: int = 20
) -> list[ResolutionHit]:
    """Resolutions whose problem, cause or fix contain every word of ``query`` (newest first)."""
    terms = [t for t in re.split(r"\s+", (query or "").strip()) if t][:8]
    stmt = (
        select(Resolution, Conversation.reference)
        .join(Conversation, Conversation.id == Resolution.conversation_id)
        .where(Resolution.workspace_id.in_(list(workspace_ids)))
    )
    for term in terms:
        pattern = f"%{_escape_like(term[:100])}%"
        stmt = stmt.where(
            or_(
                Resolution.problem.ilike(pattern, escape="\\"),
                Resolution.cause.ilike(pattern, escape="\\"),
                Resolution.fix.ilike(pattern, escape="\\"),
            )
        )
    stmt = stmt.order_by(Resolution.created_at.desc(), Resolution.id.desc()).limit(
        max(1, min(limit, 200))
    )
    return [ResolutionHit(r, ref) for r, ref in session.execute(stmt)]
