"""Keeping the report rollups up to date by folding the event log, in event-id order.

``refresh_rollups`` reads the events recorded since its watermark, folds them into one
``report_conversations`` row per conversation, the arrival counts (``analytics.arrivals``) and
the daily sums (``analytics.daily``, adjusted by deltas), and moves the watermark, all in the
caller's transaction (so a failed refresh leaves nothing half-done). A large backlog on empty
rollups (first run, ``rebuild_rollups``) takes the bulk path, ``_fold_backlog``.
Reports call it first; a periodic job can call it too, and it is cheap when nothing is new.

Why the ids are checked for gaps: event ids come from a sequence, so on PostgreSQL a transaction
that started earlier can commit an event with a *smaller* id after we have read past it. Such a
transaction shows as a gap in the ids. The fold stops at a gap until the events after it are
``settle_seconds`` old (writes are short transactions; a gap that old was a rollback). Without a
gap, new events are folded at once, so a report right after an import sees all of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from caredesk.analytics import arrivals, daily
from caredesk.analytics.fold import RELEVANT, Folder
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work
from caredesk.kit.runtime import get_runtime
from caredesk.models import Counter, Event, ReportConversation, ReportHourly

WATERMARK_NAME = "analytics.rollup"
WATERMARK_DAY = "watermark"
DEFAULT_SETTLE_SECONDS = 30.0
BATCH_EVENTS = 20_000
# A backlog this big on empty rollups (first run, rebuild, import) is folded conversation by
# conversation instead of in event order: see ``_fold_backlog``.
BULK_MIN_EVENTS = 50_000
BULK_CONVERSATIONS = 20_000
# What the folder reads of each event, in the order it unpacks them.
_FOLD_COLUMNS = (
    Event.id,
    Event.workspace_id,
    Event.conversation_id,
    Event.name,
    Event.actor_kind,
    Event.actor_agent_id,
    Event.payload,
    Event.occurred_at,
)
_FACTS: Table = ReportConversation.__table__  # type: ignore[assignment]
_HOURLY: Table = ReportHourly.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class RefreshResult:
    events: int
    conversations: int
    seconds: float
    watermark: int


def _lock_watermark(session: Session) -> int:
    """Read the watermark under a write lock, so two refreshes never fold the same events."""
    where = (Counter.name == WATERMARK_NAME, Counter.day == WATERMARK_DAY)
    locked = session.execute(update(Counter).where(*where).values(value=Counter.value))
    if not locked.rowcount:  # type: ignore[attr-defined]
        session.add(Counter(name=WATERMARK_NAME, day=WATERMARK_DAY, value=0))
        session.flush()
    return int(session.execute(select(Counter.value).where(*where)).scalar_one())


def refresh_rollups(
    session: Session,
    clock: Clock,
    *,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    batch_events: int = BATCH_EVENTS,
    max_events: int | None = None,
) -> RefreshResult:
    """Fold events recorded since the last refresh (and at least ``settle_seconds`` old).
    Runs in the caller's transaction; the caller commits."""
    started = time.perf_counter()
    watermark = _lock_watermark(session)
    cutoff = clock.now() - timedelta(seconds=settle_seconds)
    folder = Folder(session)
    total = 0
    conversations = 0
    if max_events is None:
        bulk = _fold_backlog(session, clock, watermark, settle_seconds)
        if bulk is not None:
            watermark, total, conversations = bulk
    while max_events is None or total < max_events:
        limit = batch_events if max_events is None else min(batch_events, max_events - total)
        rows = session.execute(
            select(*_FOLD_COLUMNS, Event.recorded_at)
            .where(Event.id > watermark)
            .order_by(Event.id)
            .limit(limit)
        ).all()
        settled = []
        expected = watermark + 1
        for row in rows:
            # A gap in the ids is either a rollback or a transaction still writing: past a
            # young gap we stop; an old gap (older than the settle time) was a rollback.
            if row[0] != expected and settle_seconds > 0 and row[8] > cutoff:
                break
            settled.append(row)
            expected = row[0] + 1
        if not settled:
            break
        folder.load(r[2] for r in settled if r[2] is not None and r[3] in RELEVANT)
        for row in settled:
            folder.fold(row[:8])
        conversations += folder.write(clock.now())
        watermark = settled[-1][0]
        total += len(settled)
        if len(settled) < len(rows) or len(rows) < limit:
            break
    session.execute(
        update(Counter)
        .where(Counter.name == WATERMARK_NAME, Counter.day == WATERMARK_DAY)
        .values(value=watermark)
    )
    return RefreshResult(total, conversations, time.perf_counter() - started, watermark)


def _settled_bound(session: Session, watermark: int, cutoff: datetime, top: int) -> int:
    """The highest id up to which every event is older than ``cutoff`` (so no transaction
    that may still commit a smaller id can be running), walking back from ``top``."""
    young = session.execute(
        select(func.min(Event.id)).where(Event.id > watermark, Event.recorded_at > cutoff)
    ).scalar_one()
    return top if young is None else int(young) - 1


def _fold_backlog(
    session: Session, clock: Clock, watermark: int, settle_seconds: float
) -> tuple[int, int, int] | None:
    """Fold a large backlog into EMPTY rollups set-wise: events read per range of conversation
    ids (index order: conversation, then id) instead of one global id order, so each
    conversation is folded once, written once with a plain INSERT, and never read back. Every
    conversation's events are still folded in id order, so the rows are those the incremental
    fold makes (hourly counts take the conversation's team at the end of the backlog rather
    than at the end of an arbitrary batch). Returns (new watermark, events, conversations), or
    None when the incremental path should run instead."""
    top = session.execute(select(func.max(Event.id))).scalar_one()
    if top is None or int(top) - watermark < BULK_MIN_EVENTS:
        return None
    if session.execute(select(_FACTS.c.id).limit(1)).first() is not None:
        return None
    for table in (_HOURLY, *arrivals.TABLES, daily.DAILY):
        if session.execute(select(table.c.id).limit(1)).first() is not None:
            return None
    cutoff = clock.now() - timedelta(seconds=settle_seconds)
    hi = int(top) if settle_seconds <= 0 else _settled_bound(session, watermark, cutoff, int(top))
    if hi - watermark < BULK_MIN_EVENTS:
        return None
    in_range = (Event.id > watermark, Event.id <= hi, Event.name.in_(sorted(RELEVANT)))
    lo_cid, hi_cid = session.execute(
        select(func.min(Event.conversation_id), func.max(Event.conversation_id)).where(*in_range)
    ).one()
    events = conversations = 0
    bulk = Folder(session, daily=False)  # the daily sums are built once, at the end
    if lo_cid is not None and hi_cid is not None:
        for start in range(int(lo_cid), int(hi_cid) + 1, BULK_CONVERSATIONS):
            rows = session.execute(
                select(*_FOLD_COLUMNS)
                .where(
                    *in_range,
                    Event.conversation_id >= start,
                    Event.conversation_id < start + BULK_CONVERSATIONS,
                )
                .order_by(Event.conversation_id, Event.id)
            )
            fold = bulk.fold
            for row in rows:
                fold(row)
                events += 1
            conversations += bulk.write(clock.now())
    daily.build_all(session)
    return hi, events, conversations


def rebuild_rollups(session: Session, clock: Clock) -> RefreshResult:
    """Forget the rollups and fold the whole event log again (after a fold rule changes)."""
    session.execute(_FACTS.delete())
    for table in (*arrivals.TABLES, daily.DAILY):
        session.execute(table.delete())
    session.execute(
        update(Counter)
        .where(Counter.name == WATERMARK_NAME, Counter.day == WATERMARK_DAY)
        .values(value=0)
    )
    return refresh_rollups(session, clock, settle_seconds=0.0)


def keep_rollups_fresh(max_events: int = 200_000) -> int:
    """Periodic job: fold what is new, so opening a report never waits for a big backlog."""
    rt = get_runtime()
    with unit_of_work(rt.sessions) as session:
        return refresh_rollups(session, rt.clock, max_events=max_events).events
