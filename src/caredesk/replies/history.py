"""A short bullet summary of the customer's previous conversations (S19), shown at the top of
the conversation so the agent does not ask again what the customer already told us."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.models import Conversation, Message, Resolution
from caredesk.replies.canned import language_name

MAX_CONVERSATIONS = 5
SNIPPET = 90
_SPACE_RE = re.compile(r"\s+")
_MENTION_RE = re.compile(r"^(?:@\w+\s*)+")


def _snippet(text: str, limit: int = SNIPPET) -> str:
    text = _MENTION_RE.sub("", _SPACE_RE.sub(" ", text or "").strip())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class PastConversation:
    conversation_id: int
    reference: str
    bullet: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "reference": self.reference,
            "bullet": self.bullet,
        }


def customer_history(
    session: Session, conversation: Conversation, *, limit: int = MAX_CONVERSATIONS
) -> list[PastConversation]:
    """One bullet per earlier conversation of this customer, newest first: when, where, what
    they wrote, and how it ended (the resolution note's fix when there is one)."""
    earlier = list(
        session.execute(
            select(Conversation)
            .where(
                Conversation.workspace_id == conversation.workspace_id,
                Conversation.customer_id == conversation.customer_id,
                Conversation.id != conversation.id,
            )
            .order_by(Conversation.last_message_at.desc())
            .limit(limit)
        ).scalars()
    )
    if not earlier:
        return []
    ids = [c.id for c in earlier]
    first_in: dict[int, str] = {}
    for cid, text in session.execute(
        select(Message.conversation_id, Message.text)
        .where(Message.conversation_id.in_(ids), Message.direction == "in")
        .order_by(Message.created_at, Message.id)
    ):
        first_in.setdefault(cid, text)
    fixes: dict[int, str] = {}
    for res in session.execute(
        select(Resolution).where(Resolution.conversation_id.in_(ids)).order_by(Resolution.id)
    ).scalars():
        fixes[res.conversation_id] = res.fix or res.problem
    out = []
    for c in earlier:
        parts = [f"{c.last_message_at:%Y-%m-%d} {c.reference} ({c.channel}"]
        if c.language and c.language not in ("und", "en"):
            parts[0] += f", {language_name(c.language)}"
        parts[0] += ")"
        topic = c.intent.replace("_", " ") if c.intent else None
        said = _snippet(first_in.get(c.id, c.subject or ""))
        parts.append(f"{topic}: “{said}”" if topic else f"“{said}”")
        if c.id in fixes:
            parts.append(f"resolved: {_snippet(fixes[c.id])}")
        elif c.status in ("solved", "closed"):
            parts.append(c.status)
        else:
            parts.append(f"still {c.status.replace('_', ' ')}")
        out.append(PastConversation(c.id, c.reference, " — ".join(parts)))
    return out
