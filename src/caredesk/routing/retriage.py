"""An agent's triage correction, followed through to the conversation's SLA and queue.

The triage stage stores the correction (``caredesk.triage.store.do_correct_triage``) but sits
left of conversations and routing, so it cannot move clocks. Here the corrected kind, reply need
and priority reach the SLA: noise -> care starts the clocks (from the first message needing a
reply, see ``conversations.sla_scope``) and offers the conversation to an agent; care -> noise
stops them (events already fired stay in the history and in reports).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from caredesk.conversations import sla
from caredesk.kit.clock import Clock
from caredesk.models import Agent, Conversation
from caredesk.routing import repository as repo
from caredesk.routing.service import do_route
from caredesk.triage.store import do_correct_triage as store_correction

# Fields whose change can change which clocks run (policy by priority; reply need by kind).
_SLA_FIELDS = frozenset({"kind", "priority"})


def do_correct_triage(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent: Agent,
    changes: Mapping[str, Any],
) -> list[str]:
    """Store the correction; then re-apply the SLA (and routing, for a conversation that now
    needs an owner). Returns the fields that changed."""
    changed = store_correction(session, clock, conversation, agent, changes)
    # Only conversations live routing already manages: imported history keeps no clocks
    # (they would all breach at once), and a correction must not start them.
    managed = "policy_id" in (conversation.sla_state or {})
    if managed and _SLA_FIELDS.intersection(changed):
        do_route(session, clock, conversation)
    return changed


def do_stop_unneeded_clocks(
    session: Session, clock: Clock, *, workspace_id: int | None, after_id: int, limit: int = 500
) -> list[int]:
    """One batch of the clean-up for conversations routed before clocks followed the reply
    need: stop their clocks (``sla.stopped``). Returns the ids handled (the next batch starts
    after the last one); safe to run twice."""
    ids = repo.clocked_without_reply_ids(
        session, workspace_id=workspace_id, after_id=after_id, limit=limit
    )
    for conversation in repo.conversations_by_ids(session, ids):
        sla.do_apply_sla(session, clock, conversation)
    return ids
