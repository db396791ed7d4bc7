"""Receiving posts: commit to the inbox first, process later in an idempotent job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from caredesk.channels.base import InboundPost
from caredesk.ingest import repository as repo
from caredesk.ingest.codec import post_to_json
from caredesk.kit.clock import Clock
from caredesk.kit.jobs import enqueue_after_commit

PROCESS_JOB = "ingest.process"
MAX_TEXT_CHARS = 100_000


@dataclass
class ReceiveResult:
    stored: list[int] = field(default_factory=list)
    duplicates: int = 0


def do_receive(
    session: Session,
    clock: Clock,
    posts: Sequence[InboundPost],
    *,
    channel_account_id: int | None,
    raw: Mapping[str, Any] | None = None,
    enqueue: bool = True,
) -> ReceiveResult:
    """Store posts in the durable inbox. Duplicates are absorbed and counted, never an error.

    The caller commits; only then are processing jobs enqueued (and only then may a webhook be
    acknowledged).
    """
    now = clock.now()
    day = now.date().isoformat()
    result = ReceiveResult()
    for post in posts:
        text = post.text[:MAX_TEXT_CHARS]
        values = {
            "channel": post.channel,
            "external_id": post.external_id,
            "channel_account_id": channel_account_id,
            "post": {**post_to_json(post), "text": text},
            "raw": dict(post.raw) if post.raw else dict(raw or {}),
            "state": "received",
            "attempts": 0,
            "duplicates": 0,
            "received_at": now,
        }
        item_id = repo.insert_if_new(session, values)
        if item_id is None:
            repo.note_duplicate(session, post.channel, post.external_id)
            repo.bump_counter(session, f"inbox.duplicates.{post.channel}", day)
            result.duplicates += 1
            continue
        result.stored.append(item_id)
        if enqueue:
            enqueue_after_commit(session, PROCESS_JOB, item_id)
    if result.stored:
        repo.bump_counter(session, "inbox.received", day, len(result.stored))
    return result


def do_count_rejection(session: Session, clock: Clock, channel: str, reason: str) -> None:
    """Polled data we could not accept is logged and counted, never silently dropped."""
    repo.bump_counter(session, f"inbox.rejected.{channel}.{reason}", clock.now().date().isoformat())
