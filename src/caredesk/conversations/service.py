"""Writes for customers and conversations. Every ``do_*`` records its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from caredesk.channels.base import InboundPost
from caredesk.conversations import repository as repo
from caredesk.conversations import sla
from caredesk.conversations.lifecycle import resume_on_customer_message
from caredesk.conversations.sla_scope import mark_reply_needed
from caredesk.events import E, record
from caredesk.kit.clock import Clock, ensure_utc
from caredesk.kit.ids import conversation_reference
from caredesk.models import Conversation, Customer, Identity, Message, Workspace

DEFAULT_THREADING_WINDOW_HOURS = 72
_PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@dataclass(frozen=True)
class TriageView:
    """The triage fields the conversation keeps (decoupled from the triage stage's types)."""

    language: str | None = None
    sentiment: str | None = None
    kind: str = "care"
    intent: str | None = None
    priority: str = "normal"
    needs_reply: bool = True
    reasons: tuple[str, ...] = ()
    raw: dict[str, Any] | None = None


@dataclass(frozen=True)
class InboundOutcome:
    conversation: Conversation
    message: Message
    created_message: bool
    opened_conversation: bool


def threading_window(workspace: Workspace) -> timedelta:
    """Per-workspace setting ``threading_window_hours`` (default 72; bad values fall back)."""
    hours = (workspace.settings or {}).get("threading_window_hours", DEFAULT_THREADING_WINDOW_HOURS)
    try:
        value = float(hours)
    except (TypeError, ValueError):
        value = DEFAULT_THREADING_WINDOW_HOURS
    if not 0 <= value <= 24 * 365:
        value = DEFAULT_THREADING_WINDOW_HOURS
    return timedelta(hours=value)


def threads_across_channels(workspace: Workspace) -> bool:
    """Setting ``threading_cross_channel`` (default on): a known customer writing on another
    channel continues their open conversation instead of opening a second one (S17)."""
    return bool((workspace.settings or {}).get("threading_cross_channel", True))


def do_find_or_create_customer(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    *,
    channel: str,
    external_id: str,
    handle: str | None,
    name: str | None,
    followers: int | None = None,
    verified: bool = False,
) -> Identity:
    identity = repo.find_identity(session, workspace.id, channel, external_id)
    now = clock.now()
    if identity is not None:
        # Keep reach data fresh: it feeds priority.
        if followers is not None:
            identity.followers = followers
        identity.verified = identity.verified or verified
        if handle and identity.handle != handle:
            identity.handle = handle
        return identity
    customer = Customer(
        workspace_id=workspace.id,
        display_name=(name or handle or external_id)[:200],
        tags=[],
        contact_details={},
        notes="",
        vip=False,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    session.flush()
    identity = Identity(
        workspace_id=workspace.id,
        customer_id=customer.id,
        channel=channel,
        external_id=external_id,
        handle=handle,
        display_name=name,
        followers=followers,
        verified=verified,
        created_at=now,
    )
    session.add(identity)
    session.flush()
    return identity


def _new_conversation(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    *,
    customer_id: int,
    channel: str,
    account_id: int | None,
    at: datetime,
    private: bool,
    thread_root: str | None,
    subject: str | None,
    imported: bool = False,
) -> Conversation:
    number = repo.take_conversation_number(session, workspace.id)
    now = clock.now()
    conversation = Conversation(
        workspace_id=workspace.id,
        number=number,
        reference=conversation_reference(workspace.reference_prefix, number),
        customer_id=customer_id,
        channel=channel,
        channel_account_id=account_id,
        status="new",
        priority="normal",
        kind="care",
        needs_reply=True,
        triage_reasons=[],
        tags=[],
        sla_state={},
        is_private=private,
        thread_root=thread_root,
        subject=subject,
        message_count=0,
        last_message_at=at,
        imported=imported,
        created_at=now,
        updated_at=now,
    )
    session.add(conversation)
    session.flush()
    return conversation


def _apply_triage(conversation: Conversation, triage: TriageView) -> None:
    conversation.language = triage.language or conversation.language
    conversation.sentiment = triage.sentiment or conversation.sentiment
    if conversation.message_count <= 1 or triage.kind != "noise":
        conversation.kind = triage.kind
        conversation.intent = triage.intent
    # A conversation is as urgent as its most urgent open message.
    if _PRIORITY_RANK.get(triage.priority, 2) < _PRIORITY_RANK.get(conversation.priority, 2):
        conversation.priority = triage.priority
    if conversation.message_count <= 1:
        conversation.priority = triage.priority
    conversation.needs_reply = conversation.needs_reply or triage.needs_reply
    if conversation.message_count <= 1:
        conversation.needs_reply = triage.needs_reply
    conversation.triage_reasons = list(triage.reasons)


def do_record_inbound(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    post: InboundPost,
    *,
    account_id: int | None,
    triage: TriageView,
    unaddressed: bool = False,
    imported: bool = False,
) -> InboundOutcome:
    """Attach a customer's post to the right conversation (idempotent on the external id)."""
    existing = repo.find_message(session, workspace.id, post.channel, post.external_id)
    if existing is not None:
        conversation = repo.get_conversation(session, existing.conversation_id)
        assert conversation is not None
        return InboundOutcome(conversation, existing, False, False)

    at = ensure_utc(post.created_at)
    identity = do_find_or_create_customer(
        session,
        clock,
        workspace,
        channel=post.channel,
        external_id=post.author_external_id,
        handle=post.author_handle,
        name=post.author_name,
        followers=post.author_followers,
        verified=post.author_verified,
    )
    conversation, how = _thread(session, workspace, post, identity, at)
    opened = conversation is None
    if conversation is None:
        conversation = _new_conversation(
            session,
            clock,
            workspace,
            customer_id=identity.customer_id,
            channel=post.channel,
            account_id=account_id,
            at=at,
            private=post.is_private,
            thread_root=post.in_reply_to_external_id or post.external_id,
            subject=post.subject,
            imported=imported,
        )
    message = Message(
        workspace_id=workspace.id,
        conversation_id=conversation.id,
        channel=post.channel,
        external_id=post.external_id,
        direction="in",
        author_identity_id=identity.id,
        author_label=post.author_handle or post.author_name or post.author_external_id,
        text=post.text,
        subject=post.subject,
        in_reply_to_external_id=post.in_reply_to_external_id,
        thread_refs=list(post.thread_refs),
        is_private=post.is_private,
        language=triage.language,
        triage=triage.raw or {},
        url=post.url,
        created_at=at,
        received_at=clock.now(),
    )
    session.add(message)
    conversation.message_count += 1
    conversation.last_inbound_at = max(at, conversation.last_inbound_at or at)
    conversation.last_message_at = max(at, conversation.last_message_at)
    if conversation.first_inbound_at is None or at < conversation.first_inbound_at:
        conversation.first_inbound_at = at
    conversation.unaddressed = conversation.unaddressed or unaddressed
    conversation.updated_at = clock.now()
    _apply_triage(conversation, triage)
    if triage.needs_reply and triage.kind != "noise" and not imported:
        # The SLA clocks start here if nothing earlier needed a reply (see sla_scope).
        mark_reply_needed(conversation, at)
    session.flush()

    actor = "import" if imported else "customer"
    common = {"workspace_id": workspace.id, "conversation_id": conversation.id}
    if opened:
        record(
            session,
            clock,
            name=E.CONVERSATION_OPENED,
            actor_kind=actor,
            occurred_at=at,
            payload={"channel": post.channel, "kind": conversation.kind},
            live=not imported,
            **common,
        )
    elif conversation.status in ("solved", "closed"):
        previous = conversation.status
        conversation.status = "in_progress" if conversation.assignee_id else "new"
        conversation.solved_at = None
        conversation.closed_at = None
        record(
            session,
            clock,
            name=E.CONVERSATION_REOPENED,
            actor_kind=actor,
            occurred_at=at,
            payload={"from": previous, "to": conversation.status},
            live=not imported,
            **common,
        )
    elif how:
        record(
            session,
            clock,
            name=E.CONVERSATION_CONTINUED,
            actor_kind=actor,
            occurred_at=at,
            payload={"how": how, "channel": post.channel},
            live=not imported,
            **common,
        )
    record(
        session,
        clock,
        name=E.MESSAGE_RECEIVED,
        actor_kind=actor,
        occurred_at=at,
        payload={
            "message_id": message.id,
            "channel": post.channel,
            "language": triage.language,
            "kind": triage.kind,
            "sentiment": triage.sentiment,
            "priority": triage.priority,
            "needs_reply": triage.needs_reply,
        },
        live=not imported,
        **common,
    )
    if not opened and not imported:
        # Waiting on the customer is over: the clock runs again and a new turn starts.
        resume_on_customer_message(session, clock, conversation, at)
        if triage.needs_reply and triage.kind != "noise":
            # A bare "thanks!" after our answer starts no new turn: nobody owes a reply.
            sla.start_next_response_clock(session, conversation, at)
        sla.refresh_timer(conversation, clock.now())
    return InboundOutcome(conversation, message, True, opened)


def _thread(
    session: Session,
    workspace: Workspace,
    post: InboundPost,
    identity: Identity,
    at: datetime,
) -> tuple[Conversation | None, str | None]:
    """Find the conversation a post continues, and say how it was found."""
    refs = [r for r in (post.in_reply_to_external_id, *post.thread_refs) if r]
    parent = repo.find_message_any(session, workspace.id, post.channel, refs)
    if parent is not None:
        return repo.get_conversation(session, parent.conversation_id), "reply_chain"
    since = at - threading_window(workspace)
    same_channel = None if threads_across_channels(workspace) else post.channel
    open_one = repo.latest_unresolved_for_customer(
        session, workspace.id, identity.customer_id, since, channel=same_channel
    )
    if open_one is not None:
        how = "returning_customer" if open_one.channel == post.channel else "cross_channel"
        return open_one, how
    return None, None
