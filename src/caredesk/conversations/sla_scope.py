"""Which conversations run SLA clocks at all, and from when.

Response-time clocks measure how long a customer waits for an answer, so they run only on
conversations somebody is expected to answer. Noise (spam, ads, unrelated chatter) and a bare
thank-you that closes a conversation get no clocks: counted, they would be breaches in reports,
fire breach alerts and escalations, and paint the queue red for posts nobody should answer.

The clocks start at the first inbound message that needs a reply (kept in ``sla_state`` as
``reply_since``), not at the conversation's first message: a customer who posts noise and days
later asks for help has waited since the question. When an agent corrects a conversation to a
kind that needs a reply and no message was marked, the clocks start at the first inbound
message (the one the correction relabels): the customer has been waiting since then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from caredesk.kit.clock import ensure_utc
from caredesk.models import Conversation

NO_REPLY_NEEDED = "no reply needed"
_NO_REPLY_PREFIX = "no reply needed"


def replies_expected(conversation: Conversation) -> bool:
    """Triage says someone should answer: the stored ``needs_reply`` and not noise."""
    return bool(conversation.needs_reply) and conversation.kind != "noise"


def no_reply_reason(conversation: Conversation) -> str | None:
    """Why no clocks run (None when replies are expected): the triage's own reason if it gave
    one, else a generic one naming the kind."""
    if replies_expected(conversation):
        return None
    for reason in reversed(conversation.triage_reasons or []):
        # A noise conversation shows the noise reason, not an older "thank-you" one.
        fits = conversation.kind != "noise" or "noise" in str(reason)
        if isinstance(reason, str) and reason.startswith(_NO_REPLY_PREFIX) and fits:
            return reason[:200]
    if conversation.kind == "noise":
        return f"{NO_REPLY_NEEDED}: noise"
    return f"{NO_REPLY_NEEDED}: the customer's message closes the conversation"


def reply_since(state: Mapping[str, Any]) -> datetime | None:
    value = state.get("reply_since")
    return ensure_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None


def mark_reply_needed(conversation: Conversation, at: datetime) -> None:
    """A live inbound message at ``at`` needs a reply: remember the earliest such moment."""
    state = dict(conversation.sla_state or {})
    current = reply_since(state)
    at = ensure_utc(at)
    if current is None or at < current:
        state["reply_since"] = at.isoformat()
        conversation.sla_state = state


def sla_status(conversation: Conversation) -> tuple[str, str | None]:
    """(status, reason) for showing the SLA: ``no_reply_needed`` (with the reason), ``none``
    (no policy applies, or live routing never put it under an SLA, as for imported history),
    ``met`` (every clock met or the conversation is done), ``paused`` or ``running`` (compare
    ``sla_due_at`` with now for overdue)."""
    state = conversation.sla_state or {}
    if state.get("no_reply"):
        return "no_reply_needed", str(state["no_reply"])
    if state.get("policy_id") is None:
        return "none", None
    if conversation.status in ("solved", "closed") or conversation.sla_due_at is None:
        return "met", None
    if conversation.status in ("pending", "snoozed"):
        return "paused", None
    return "running", None
