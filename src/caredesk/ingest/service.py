"""Receiving posts: commit to the inbox first, process later in an idempotent job."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
    One long-lived thread does the enqueueing (a timer thread per batch cost the committing
    thread a thread start each time).
    """

    def __init__(self, delay: float = 0.02) -> None:
        self._delay = delay
        self._wake = threading.Condition()
        self._pending: list[int] = []
        self._thread: threading.Thread | None = None

    def add(self, ids: tuple[int, ...]) -> None:
        if jobs.get_huey().immediate:
            jobs.enqueue_now(PROCESS_JOB, *ids)
            return
        with self._wake:
            self._pending.extend(ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="inbox-kicker", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending:
                    self._wake.wait()
            time.sleep(self._delay)  # let the next few commits join this enqueue
            self.flush()

    def flush(self) -> None:
        with self._wake:
            ids, self._pending = self._pending, []
        for lo in range(0, len(ids), 500):
            try:
                jobs.enqueue_now(PROCESS_JOB, *ids[lo : lo + 500])
            except Exception:  # the queue is down: the sweeper picks the rows up later
                log.exception("could not enqueue %d inbox items", len(ids[lo : lo + 500]))


_KICKER = _Kicker()


def _kick(ids: tuple[int, ...]) -> None:
    # Runs after COMMIT: an error here must not look like a failed commit to the caller (it
    # would answer 5xx, or store again, posts that are already safe). The sweeper retries.
    try:
        _KICKER.add(ids)
    except Exception:
        log.exception("could not hand %d committed inbox items to the job queue", len(ids))


def flush_pending_jobs() -> None:
    """Enqueue buffered ids now (shutdown, tests, benchmarks)."""
    _KICKER.flush()


@dataclass
class ReceiveResult:
    stored: list[int] = field(default_factory=list)
    duplicates: int = 0


@dataclass(frozen=True)
class Delivery:
    """One delivery's posts, as :func:`do_receive` takes them (for :func:`do_receive_many`)."""

    posts: Sequence[InboundPost]
    channel_account_id: int | None
    raw: Mapping[str, Any] | None = None
    source: str = "account"
    enqueue: bool = True


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
    delivery = Delivery(posts, channel_account_id, raw, source, enqueue)
    return do_receive_many(session, clock, [delivery])[0]


def do_receive_many(
    session: Session, clock: Clock, deliveries: Sequence[Delivery]
) -> list[ReceiveResult]:
    """:func:`do_receive` for several deliveries in one transaction (group commit).

    The outcome is exactly that of receiving them one after the other in this order: a post
    wanted by two deliveries is stored for the first and absorbed (and counted) for the second,
    and the counters add up the same. Rows are inserted with one statement whatever the number
    of deliveries, which is what makes committing many deliveries together cheap.
    """
    for delivery in deliveries:
        if delivery.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
    now = clock.now()
    day = now.date().isoformat()
    results = [ReceiveResult() for _ in deliveries]
    rows: list[dict[str, Any]] = []
    owner: dict[tuple[str, str], int] = {}  # key -> index of the first delivery wanting it
    wanted: list[list[tuple[str, str]]] = []  # per delivery, in its order; first claims only
    again: list[tuple[int, tuple[str, str]]] = []  # claimed by an earlier delivery of the batch
    repeats: Counter[str] = Counter()  # channel -> duplicates absorbed
    for index, delivery in enumerate(deliveries):
        mine: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for post in delivery.posts:
            key = (post.channel, post.external_id)
            if key in seen:  # the same post twice in one delivery
                repeats[post.channel] += 1
                results[index].duplicates += 1
                continue
            seen.add(key)
            if key in owner:  # an earlier delivery in this batch brought it
                again.append((index, key))
                continue
            owner[key] = index
            mine.append(key)
            rows.append(_row(post, delivery, now))
        wanted.append(mine)
    # One statement for every delivery of the batch (X and Meta batch their events too). Rows go
    # in key order, so concurrent batches lock shared keys in the same order (no deadlock).
    rows.sort(key=lambda row: (row["channel"], row["external_id"]))
    inserted = repo.insert_many_if_new(session, rows) if rows else {}
    known: list[tuple[str, str]] = []  # already in the inbox: note each repeat on its row
    for index, keys in enumerate(wanted):
        for key in keys:
            item_id = inserted.get(key)
            if item_id is None:
                known.append(key)
                repeats[key[0]] += 1
                results[index].duplicates += 1
            else:
                results[index].stored.append(item_id)
    for index, key in again:
        known.append(key)
        repeats[key[0]] += 1
        results[index].duplicates += 1
    if known:
        repo.note_duplicates(session, sorted(known))
    for channel, count in sorted(repeats.items()):
        repo.bump_counter(session, f"inbox.duplicates.{channel}", day, count)
    stored = sum(len(r.stored) for r in results)
    if stored:
        repo.bump_counter(session, "inbox.received", day, stored)
        kick = tuple(
            item_id
            for delivery, result in zip(deliveries, results, strict=True)
            if delivery.enqueue
            for item_id in result.stored
        )
        if kick:
            on_commit(session, lambda: _kick(kick))
    return results


def _row(post: InboundPost, delivery: Delivery, now: datetime) -> dict[str, Any]:
    return {
        "channel": post.channel,
        "external_id": post.external_id,
        "channel_account_id": delivery.channel_account_id,
        "post": {
            **post_to_json(post),
            "text": post.text[:MAX_TEXT_CHARS],
            "source": delivery.source,
        },
        "raw": dict(post.raw) if post.raw else dict(delivery.raw or {}),
        "state": "received",
        "attempts": 0,
        "duplicates": 0,
        "received_at": now,
    }


def do_count_rejection(session: Session, clock: Clock, channel: str, reason: str) -> None:
    """Polled data we could not accept is logged and counted, never silently dropped."""
    repo.bump_counter(session, f"inbox.rejected.{channel}.{reason}", clock.now().date().isoformat())
