"""The timer sweep: SLA near-breach/breach events, auto-acknowledgment requests, snooze wake-ups
and escalation of owners who have not answered in time.

One pass reads only rows whose ``timer_due_at`` has come (an index range scan), so its cost
follows the number of due rows, not the number of open conversations. Each row is evaluated
with the pure :func:`caredesk.conversations.sla.evaluate`; the events fire once because
:func:`caredesk.conversations.marks.claim_mark` lets only one sweeper insert each mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from caredesk.conversations import sla
from caredesk.conversations.lifecycle import do_wake_if_due
from caredesk.conversations.sla_scope import replies_expected
from caredesk.kit.clock import Clock
from caredesk.models import Conversation
from caredesk.routing import repository as repo
from caredesk.routing.service import do_escalate

# Response targets are the owner's to meet; missing one escalates (resolution breaches are
# reported, not escalated: a long case is not a silent owner).
ESCALATE_ON = ("first_response", "next_response")


@dataclass
class SweepResult:
    examined: int = 0
    near: int = 0
    breached: int = 0
    auto_ack: int = 0
    woken: int = 0
    escalated: int = 0
    conversation_ids: list[int] = field(default_factory=list)
    # Per-pass cache for escalation payloads (workspace id -> supervisor ids).
    supervisors: dict[int, list[int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {
            "examined": self.examined,
            "near": self.near,
            "breached": self.breached,
            "auto_ack": self.auto_ack,
            "woken": self.woken,
            "escalated": self.escalated,
        }


def do_sweep_conversation(
    session: Session, clock: Clock, conversation: Conversation, result: SweepResult
) -> None:
    """Handle everything due on one conversation now."""
    now = clock.now()
    result.examined += 1
    if do_wake_if_due(session, clock, conversation):
        result.woken += 1
    if (conversation.sla_state or {}).get("clocks") and not replies_expected(conversation):
        # Clocks set before the rule "no SLA without a needed reply" (or by a path that
        # missed a triage change): stop them instead of firing a breach nobody owes.
        sla.do_apply_sla(session, clock, conversation)
    ev = sla.evaluate(conversation.sla_state or {}, sla.SlaFacts.of(conversation), now)
    if not ev.firings:
        sla.refresh_timer(conversation, now)
        return
    fired = sla.do_fire_due(session, clock, conversation, ev)
    for firing in fired:
        if firing.target == "auto_ack":
            result.auto_ack += 1
        elif firing.kind == "near":
            result.near += 1
        else:
            result.breached += 1
            if (
                firing.target in ESCALATE_ON
                and conversation.assignee_id is not None
                and do_escalate(
                    session,
                    clock,
                    conversation,
                    target=firing.target,
                    supervisors=result.supervisors,
                )
                != "none"
            ):
                result.escalated += 1
    if fired:
        result.conversation_ids.append(conversation.id)


def do_sweep_timers(session: Session, clock: Clock, *, limit: int = 1000) -> SweepResult:
    """One pass over the conversations whose timer is due (earliest first, at most ``limit``).

    On PostgreSQL the rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several sweepers
    split the work; the marks keep events exactly-once either way.
    """
    result = SweepResult()
    postgres = session.get_bind().dialect.name == "postgresql"
    ids = repo.due_timer_ids(session, clock.now(), limit, skip_locked=postgres)
    # No autoflush: the pass writes through Core statements (marks, compare-and-set owner)
    # that see their own effects, and the ORM changes go out in one flush at the end.
    conversations = repo.conversations_by_ids(session, ids)
    # Held so the identity map (weak) keeps them: escalation looks teams up per row.
    teams = repo.teams_by_ids(session, {c.team_id for c in conversations if c.team_id})
    with session.no_autoflush:
        for conversation in conversations:
            do_sweep_conversation(session, clock, conversation, result)
    del teams
    session.flush()
    return result
