"""Sending replies: commit a reply row plus an outbox row; delivery happens after commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from caredesk.conversations import autoack, csat
from caredesk.conversations import repository as conv_repo
from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.kit.ids import stable_key
from caredesk.kit.jobs import enqueue_after_commit
from caredesk.models import Agent, Conversation, CsatResponse, Message, OutboxItem
from caredesk.replies import repository as repo
from caredesk.replies.guidelines import validate_outgoing
from caredesk.replies.problems import ProblemsFound

DELIVER_JOB = "replies.deliver"
MAX_REPLY_CHARS = 20_000


def _mark_response(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    at: datetime,
    *,
    auto: bool,
    actor_kind: str,
    agent_id: int | None,
    live: bool = True,
) -> None:
    conversation.last_outbound_at = at
    conversation.last_message_at = max(at, conversation.last_message_at)
    conversation.message_count += 1
    conversation.updated_at = clock.now()
    if auto:
        if conversation.acknowledged_at is None:
            conversation.acknowledged_at = at
            record(
                session,
                clock,
                workspace_id=conversation.workspace_id,
                conversation_id=conversation.id,
                name=E.ACKNOWLEDGED,
                actor_kind="system",
                occurred_at=at,
                payload={"auto": True},
                live=live,
            )
        return
    if conversation.first_response_at is None:
        conversation.first_response_at = at
        if conversation.acknowledged_at is None:
            conversation.acknowledged_at = at
        record(
            session,
            clock,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            name=E.FIRST_RESPONSE,
            actor_kind=actor_kind,
            actor_agent_id=agent_id,
            occurred_at=at,
            payload={
                "first_inbound_at": conversation.first_inbound_at.isoformat()
                if conversation.first_inbound_at
                else None
            },
            live=live,
        )
        if conversation.status == "new":
            conversation.status = "acknowledged"


def do_send_reply(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent: Agent,
    text: str,
    *,
    private: bool = False,
    client_key: str | None = None,
    auto_ack: bool = False,
    notice: bool = False,
) -> Message:
    """Queue a reply. ``client_key`` (from the composer) makes a double-click send once.

    ``notice`` is a system message that is not an answer (the satisfaction survey link): it may
    go out on a closed conversation and never counts as a response."""
    text = text.strip()
    if not text:
        raise ValidationFailed("reply text is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise ValidationFailed(f"reply is longer than {MAX_REPLY_CHARS} characters")
    # What the network would refuse (NUL, over its length as it counts it) never reaches the outbox.
    hard = validate_outgoing(text, conversation.channel, private=private or conversation.is_private)
    if hard:
        raise ProblemsFound(hard[0].message, hard, {"": text})
    if conversation.status == "closed" and not notice:
        raise Conflict("conversation is closed; reopen it before replying")
    key = stable_key("reply", conversation.id, client_key) if client_key else None
    if key is not None:
        existing = repo.by_key(session, key)
        if existing is not None:
            message = session.get(Message, existing.message_id)
            assert message is not None
            return message
    now = clock.now()
    messages = conv_repo.messages_of(session, conversation.id)
    inbound = [m for m in messages if m.direction == "in"]
    parent = inbound[-1] if inbound else None
    message = Message(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        channel=conversation.channel,
        external_id=None,
        direction="out",
        author_agent_id=agent.id,
        author_account_id=conversation.channel_account_id,
        author_label=agent.name,
        text=text,
        subject=(f"Re: {conversation.subject}" if conversation.subject else None),
        in_reply_to_external_id=parent.external_id if parent else None,
        thread_refs=[
            *(parent.thread_refs if parent else []),
            *([parent.external_id] if parent and parent.external_id else []),
        ],
        is_private=private or conversation.is_private,
        is_auto_ack=auto_ack,
        sent_state="queued",
        triage={},
        created_at=now,
        received_at=now,
    )
    session.add(message)
    session.flush()
    key = key or stable_key("reply", conversation.id, message.id)
    item = OutboxItem(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        message_id=message.id,
        channel=conversation.channel,
        channel_account_id=conversation.channel_account_id,
        idempotency_key=key,
        payload={
            "text": text,
            "in_reply_to_external_id": message.in_reply_to_external_id,
            "recipient_external_id": _recipient_external_id(session, parent),
            "recipient_handle": parent.author_label if parent else None,
            "private": message.is_private,
            "subject": message.subject,
            "thread_refs": list(message.thread_refs),
        },
        state="queued",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(item)
    session.flush()
    if not notice:
        _mark_response(
            session, clock, conversation, now, auto=auto_ack, actor_kind="agent", agent_id=agent.id
        )
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.MESSAGE_QUEUED,
        actor_kind="agent" if not auto_ack else "system",
        actor_agent_id=agent.id,
        payload={
            "message_id": message.id,
            "outbox_id": item.id,
            "private": message.is_private,
            "auto_ack": auto_ack,
            "notice": notice,
        },
    )
    enqueue_after_commit(session, DELIVER_JOB, item.id)
    return message


def do_retry_delivery(session: Session, clock: Clock, message: Message, agent: Agent) -> Message:
    """Queue a reply the network refused for good once more, with the same idempotency key (so a
    network that did take it after all dedupes it)."""
    item = repo.by_message(session, message.id)
    if item is None or item.state != "failed":
        raise Conflict("only a failed reply can be retried")
    now = clock.now()
    item.state, item.attempts, item.next_attempt_at, item.last_error = "queued", 0, now, None
    message.sent_state, message.send_error = "queued", None
    record(
        session,
        clock,
        workspace_id=message.workspace_id,
        conversation_id=message.conversation_id,
        name=E.MESSAGE_QUEUED,
        actor_kind="agent",
        actor_agent_id=agent.id,
        payload={"message_id": message.id, "outbox_id": item.id, "retry": True},
    )
    enqueue_after_commit(session, DELIVER_JOB, item.id)
    return message


def _recipient_external_id(session: Session, parent: Message | None) -> str | None:
    if parent is None or parent.author_identity_id is None:
        return None
    from caredesk.models import Identity

    identity = session.get(Identity, parent.author_identity_id)
    return identity.external_id if identity else None


def do_record_brand_reply(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    *,
    external_id: str,
    text: str,
    at: datetime,
    account_id: int | None,
    author_label: str,
    in_reply_to: str | None,
    imported: bool = True,
) -> Message:
    """A reply the brand already sent (imported history, or posted outside the desk)."""
    existing = conv_repo.find_message(
        session, conversation.workspace_id, conversation.channel, external_id
    )
    if existing is not None:
        return existing
    message = Message(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        channel=conversation.channel,
        external_id=external_id,
        direction="out",
        author_account_id=account_id,
        author_label=author_label,
        text=text,
        in_reply_to_external_id=in_reply_to,
        thread_refs=[],
        is_private=False,
        sent_state="sent",
        triage={},
        created_at=at,
        received_at=clock.now(),
    )
    session.add(message)
    session.flush()
    _mark_response(
        session,
        clock,
        conversation,
        at,
        auto=False,
        actor_kind="import" if imported else "system",
        agent_id=None,
        live=not imported,
    )
    record(
        session,
        clock,
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        name=E.MESSAGE_SENT,
        actor_kind="import" if imported else "system",
        occurred_at=at,
        payload={"message_id": message.id, "brand_account_id": account_id},
        live=not imported,
    )
    return message


def do_send_csat_invitation(
    session: Session, clock: Clock, survey_id: int, base_url: str
) -> Message | None:
    """Deliver a satisfaction survey link on the conversation's channel (as a public reply or
    a private message, per the workspace's setting). Idempotent: one link per survey."""
    survey = session.get(CsatResponse, survey_id)
    if survey is None or survey.answered_at is not None:
        return None
    conversation = session.get(Conversation, survey.conversation_id, with_for_update=True)
    if conversation is None:
        return None
    text, how = csat.invitation(session, survey, base_url)
    if how == "off":
        return None
    sender = autoack.system_agent(session, clock, conversation.workspace_id)
    return do_send_reply(
        session,
        clock,
        conversation,
        sender,
        text,
        private=how == "dm",
        client_key=f"csat-{survey.id}",
        notice=True,
    )
