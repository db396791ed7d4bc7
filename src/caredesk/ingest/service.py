"""Receiving posts: commit to the inbox first, process later in an idempotent job."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from caredesk.channels.base import InboundPost
from caredesk.ingest import repository as repo
from caredesk.ingest.codec import post_to_json
from caredesk.kit import jobs
from caredesk.kit.clock import Clock
from caredesk.kit.db import on_commit

log = logging.getLogger(__name__)

PROCESS_JOB = "ingest.process"
MAX_TEXT_CHARS = 100_000
SOURCES = ("account", "listening")


class _Kicker:
    """Hands committed inbox ids to the job queue in batches, off the request path.

    Enqueueing is a write to the queue's own store (Huey's SQLite file, or Redis), serialised
    by a lock: per webhook it was a fifth of the server's time. The inbox row is the durable
    record, so buffering ids for a few milliseconds loses nothing: if the process dies first,
    the sweeper re-finds unprocessed rows. In immediate mode (tests) ids go straight through.
    """

    def __init__(self, delay: float = 0.02) -> None:
        self._delay = delay
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._timer: threading.Timer | None = None

    def add(self, ids: tuple[int, ...]) -> None:
        if jobs.get_huey().immediate:
            jobs.enqueue_now(PROCESS_JOB, *ids)
            return
        with self._lock:
            self._pending.extend(ids)
            if self._timer is None:
                self._timer = threading.Timer(self._delay, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            ids, self._pending, self._timer = self._pending, [], None
        for lo in range(0, len(ids), 500):
            try:
                jobs.enqueue_now(PROCESS_JOB, *ids[lo : lo + 500])
            except Exception:  # the queue is down: the sweeper picks the rows up later
                log.exception("could not enqueue %d inbox items", len(ids[lo : lo + 500]))


_KICKER = _Kicker()


def flush_pending_jobs() -> None:
    """Enqueue buffered ids now (shutdown, tests, benchmarks)."""
    _KICKER.flush()


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
    source: str = "account",
) -> ReceiveResult:
    """Store posts in the durable inbox. Duplicates are absorbed and counted, never an error.

    ``source`` is "account" for posts addressed to the brand's account (mentions, DMs, page
    comments: always kept) or "listening" for search/stream results (kept only if a listening
    rule of some workspace matches); it travels in the stored post for the processing job.

    The caller commits; only then are processing jobs enqueued (and only then may a webhook be
    acknowledged).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    now = clock.now()
    day = now.date().isoformat()
    result = ReceiveResult()
    rows: list[dict[str, Any]] = []
    wanted: list[tuple[str, str]] = []  # (channel, external id) in delivery order
    repeats: Counter[str] = Counter()  # channel -> duplicates absorbed
    seen: set[tuple[str, str]] = set()
    for post in posts:
        key = (post.channel, post.external_id)
        if key in seen:  # the same post twice in one delivery
            repeats[post.channel] += 1
            continue
        seen.add(key)
        wanted.append(key)
        rows.append(
            {
                "channel": post.channel,
                "external_id": post.external_id,
                "channel_account_id": channel_account_id,
                "post": {
                    **post_to_json(post),
                    "text": post.text[:MAX_TEXT_CHARS],
                    "source": source,
                },
                "raw": dict(post.raw) if post.raw else dict(raw or {}),
                "state": "received",
                "attempts": 0,
                "duplicates": 0,
                "received_at": now,
            }
        )
    # One statement for the whole delivery (X and Meta batch their events).
    inserted = repo.insert_many_if_new(session, rows) if rows else {}
    for key in wanted:
        item_id = inserted.get(key)
        if item_id is None:
            repo.note_duplicate(session, *key)
            repeats[key[0]] += 1
        else:
            result.stored.append(item_id)
    for channel, count in sorted(repeats.items()):
        repo.bump_counter(session, f"inbox.duplicates.{channel}", day, count)
    result.duplicates = sum(repeats.values())
    if result.stored:
        repo.bump_counter(session, "inbox.received", day, len(result.stored))
        if enqueue:
            stored = tuple(result.stored)
            on_commit(session, lambda: _KICKER.add(stored))
    return result


def do_count_rejection(session: Session, clock: Clock, channel: str, reason: str) -> None:
    """Polled data we could not accept is logged and counted, never silently dropped."""
    repo.bump_counter(session, f"inbox.rejected.{channel}.{reason}", clock.now().date().isoformat())
