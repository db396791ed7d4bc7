"""What the composer does around a send: lint against the team's voice, honour an override."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.models import Agent, Conversation, Message, Team
from caredesk.replies.canned import customer_language
from caredesk.replies.guidelines import Guidelines, lint_draft, parse_guidelines
from caredesk.replies.problems import Problem, ProblemsFound
from caredesk.replies.service import do_send_reply

MAX_OVERRIDE_REASON = 500


class NeedsOverride(ProblemsFound):
    """The draft breaks the brand's guidelines; sending needs an explicit override."""

    status_code = 409


# team id -> (stored JSON, parsed): the stored JSON is the version, so an edit by any process is
# seen at once, and the composer reads one small column instead of loading and parsing the team.
_parsed: dict[int, tuple[Any, Guidelines]] = {}


def team_guidelines(session: Session, conversation: Conversation) -> Guidelines:
    if conversation.team_id is None:
        return Guidelines()
    raw = session.execute(
        select(Team.guidelines).where(Team.id == conversation.team_id)
    ).scalar_one_or_none()
    hit = _parsed.get(conversation.team_id)
    if hit is not None and hit[0] == raw:
        return hit[1]
    parsed = parse_guidelines(raw)
    if len(_parsed) > 10_000:
        _parsed.clear()
    _parsed[conversation.team_id] = (raw, parsed)
    return parsed


def lint_for_conversation(
    session: Session,
    conversation: Conversation,
    text: str,
    *,
    private: bool = False,
    guidelines: Guidelines | None = None,
) -> list[Problem]:
    return lint_draft(
        text,
        channel=conversation.channel,
        guidelines=guidelines or team_guidelines(session, conversation),
        customer_language=customer_language(session, conversation),
        private=private or conversation.is_private,
    )


@dataclass(frozen=True)
class Override:
    reason: str


def do_send_checked_reply(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent: Agent,
    text: str,
    *,
    private: bool = False,
    client_key: str | None = None,
    override: Override | None = None,
) -> Message:
    """Send a reply from the composer. Errors always block; guideline warnings block unless
    ``override`` is given, in which case the override is stored on the message and recorded."""
    text = (text or "").strip()
    problems = lint_for_conversation(session, conversation, text, private=private)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ProblemsFound(errors[0].message, errors, {"": text})
    if problems and override is None:
        raise NeedsOverride(
            "the draft breaks the team's guidelines; send with an override to post it anyway",
            problems,
            {"": text},
        )
    message = do_send_reply(
        session, clock, conversation, agent, text, private=private, client_key=client_key
    )
    if problems and override is not None and message.guideline_override is None:
        reason = (override.reason or "").strip()[:MAX_OVERRIDE_REASON]
        message.guideline_override = {
            "reason": reason,
            "agent_id": agent.id,
            "problems": [p.to_dict(text) for p in problems],
            "at": clock.now().isoformat(),
        }
        record(
            session,
            clock,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            name=E.GUIDELINE_OVERRIDDEN,
            actor_kind="agent",
            actor_agent_id=agent.id,
            payload={
                "message_id": message.id,
                "codes": sorted({p.code for p in problems}),
                "reason": reason,
            },
        )
    return message
