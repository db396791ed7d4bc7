"""Delivering the outbox through channel adapters, exactly once.

Three short transactions: claim the row (queued -> sending), call the network with no
transaction open, record the result. If the process dies between the network accepting the
reply and our record, the row stays ``sending``; the next attempt first asks the adapter whether
the reply with this idempotency key already exists (``find_sent``) and only then re-sends, with
the same key, which networks that support idempotency keys deduplicate. A network that offers
neither gets no blind second attempt: the reply is marked failed with an explanation instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from caredesk.channels.base import (
    OutboundReply,
    PermanentChannelError,
    SendResult,
    TransientChannelError,
)
from caredesk.channels.registry import get_adapter
from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work
from caredesk.kit.jobs import RetryLater
from caredesk.models import ChannelAccount, Message, OutboxItem
from caredesk.replies import repository as repo

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
# Networks that drop a second post with the same Idempotency-Key (so a resend is safe).
DEDUPING_NETWORKS = frozenset({"mastodon"})
INTERRUPTED = (
    "sending was interrupted and {channel} cannot tell us whether the reply arrived; "
    "check the thread on the network, then retry if it is not there"
)
SEND_LEASE_SECONDS = 120


def _backoff(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return max(1.0, retry_after)
    return float(min(3600, 2 ** min(attempts, 12)))


def _account_config(session: Session, account_id: int | None) -> dict[str, Any]:
    if account_id is None:
        return {}
    account = session.get(ChannelAccount, account_id)
    if account is None:
        return {}
    return {
        **account.config,
        **account.secrets,
        "handle": account.handle,
        "external_id": account.external_id,
    }


def _reply_of(item: OutboxItem) -> OutboundReply:
    p = item.payload
    return OutboundReply(
        text=p["text"],
        idempotency_key=item.idempotency_key,
        in_reply_to_external_id=p.get("in_reply_to_external_id"),
        recipient_external_id=p.get("recipient_external_id"),
        recipient_handle=p.get("recipient_handle"),
        private=bool(p.get("private")),
        subject=p.get("subject"),
        thread_refs=tuple(p.get("thread_refs") or ()),
    )


def deliver(sessions: sessionmaker[Session], clock: Clock, item_id: int) -> str:
    """Deliver one outbox item. Returns its final state for this attempt."""
    with unit_of_work(sessions) as session:
        item = repo.get_item(session, item_id, lock=True)
        if item is None:
            return "missing"
        if item.state in ("sent", "failed"):
            return item.state
        now = clock.now()
        was_sending = item.state == "sending"
        if item.next_attempt_at > now:
            # Another worker holds the lease, or a back-off (rate limit) has not run out yet;
            # the sweeper comes back when it is due.
            return "in_flight" if was_sending else "waiting"
        # Compare-and-set on (state, attempts): of two workers that read the same row (SQLite
        # has no SKIP LOCKED), only one wins the claim.
        if not repo.claim(session, item, now + timedelta(seconds=SEND_LEASE_SECONDS)):
            return "in_flight"
        attempts = item.attempts + 1
        reply = _reply_of(item)
        channel = item.channel
        config: Mapping[str, Any] = _account_config(session, item.channel_account_id)

    # An account may deliver through another plug-in (the sandbox for demo accounts).
    kind = str(config.get("delivery_adapter") or channel)
    adapter = get_adapter(kind)
    finder = getattr(adapter, "find_sent", None)
    dedupes = kind in DEDUPING_NETWORKS or bool(getattr(adapter, "dedupes_by_key", False))
    if was_sending and finder is None and not dedupes:
        # A worker died mid-send and this network can neither be asked nor dedupes: sending
        # again could post twice, so the agent decides (the thread shows whether it arrived).
        _record_failure(
            sessions, clock, item_id, INTERRUPTED.format(channel=channel), permanent=True, delay=0
        )
        return "failed"
    try:
        result: SendResult | None = None
        if was_sending and finder is not None:
            result = finder(reply, config)
        if result is None:
            result = adapter.send(reply, config)
    except TransientChannelError as exc:
        delay = _backoff(attempts, exc.retry_after)
        final = attempts >= MAX_ATTEMPTS
        _record_failure(sessions, clock, item_id, str(exc), permanent=final, delay=delay)
        if final:
            return "failed"
        raise RetryLater(str(exc), delay=delay) from exc
    except PermanentChannelError as exc:
        _record_failure(sessions, clock, item_id, str(exc), permanent=True, delay=0)
        return "failed"
    _record_sent(sessions, clock, item_id, result)
    return "sent"


def _record_sent(
    sessions: sessionmaker[Session], clock: Clock, item_id: int, result: SendResult
) -> None:
    with unit_of_work(sessions) as session:
        item = repo.get_item(session, item_id)
        assert item is not None
        now = clock.now()
        item.state = "sent"
        item.external_id = result.external_id
        item.sent_at = now
        item.last_error = None
        message = session.get(Message, item.message_id)
        if message is not None:
            message.sent_state = "sent"
            message.external_id = result.external_id
            message.url = result.url or message.url
            message.send_error = None
        record(
            session,
            clock,
            workspace_id=item.workspace_id,
            conversation_id=item.conversation_id,
            name=E.MESSAGE_SENT,
            payload={
                "message_id": item.message_id,
                "external_id": result.external_id,
                "attempts": item.attempts,
            },
        )


def _record_failure(
    sessions: sessionmaker[Session],
    clock: Clock,
    item_id: int,
    error: str,
    *,
    permanent: bool,
    delay: float,
) -> None:
    with unit_of_work(sessions) as session:
        item = repo.get_item(session, item_id)
        assert item is not None
        item.last_error = error[:2000]
        message = session.get(Message, item.message_id)
        if permanent:
            item.state = "failed"
            if message is not None:
                message.sent_state = "failed"
                message.send_error = error[:2000]
            record(
                session,
                clock,
                workspace_id=item.workspace_id,
                conversation_id=item.conversation_id,
                name=E.MESSAGE_FAILED,
                payload={"message_id": item.message_id, "error": error[:500]},
            )
        else:
            # Back to queued: a retry starts clean, nothing was accepted by the network.
            item.state = "queued"
            item.next_attempt_at = clock.now() + timedelta(seconds=delay)
            if message is not None:
                message.send_error = f"retrying: {error[:500]}"
