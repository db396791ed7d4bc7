"""The index of a workspace's solved conversations behind suggested replies: a snapshot on
disk that survives restarts and is shared by processes, plus a small tail read from the database.

* Snapshot: ``<root>/<database>/ws-<id>/gen-<n>/`` holds the :class:`TextIndex` arrays (``.npy``,
  memory-mapped: loading takes milliseconds and every process shares the pages), the conversation
  id, resolving-reply message id, language and intent of each document, and ``meta.json`` with
  the event watermark (the newest event id before the rows were read). ``CURRENT`` names the live
  generation; it is replaced atomically, so readers never see half a snapshot.
* Tail: conversations with a resolve/close/reopen event after the watermark. Each request reads
  the new events (a primary-key range scan over the last minute of events), and when there are
  any, re-reads those conversations and indexes them with the snapshot's idf. Tail documents
  supersede (mask) their snapshot copies; reopened ones simply drop out.
* Rebuild: when the tail passes ``TAIL_MAX`` conversations, or the solved set changed by other
  means (bulk import) and the snapshot is older than ``REBUILD_AFTER``; by the periodic job
  ``replies.refresh_suggest_index`` or a background thread, one builder at a time (file lock).

Staleness bound: a conversation resolved or reopened through the app is reflected by the next
request of every process, provided its transaction committed within ``EVENT_OVERLAP`` seconds of
recording the event; changes without events (imports, edited texts) within ``REBUILD_AFTER``
plus one build. Desks up to ``LARGE_INDEX`` conversations skip all this: they are rebuilt in
memory whenever the solved set changes (under a second).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from caredesk.events import E
from caredesk.models import Conversation, Event, Workspace
from caredesk.replies.past_docs import (
    PastDocs,
    Snapshot,
    build_docs,
    current_generation,
    load_snapshot,
    newest_event_id,
    save_snapshot,
    solved_stamp,
)

LARGE_INDEX = 5000
TAIL_MAX = 2000
REBUILD_AFTER = 600.0
STAMP_EVERY = 300.0
EVENT_OVERLAP = 60.0
RELOAD_CHECK = 1.0
# Every way into or out of solved/closed records one of these (see conversations.lifecycle).
TOUCHING = (str(E.RESOLVED), str(E.CLOSED), str(E.CONVERSATION_REOPENED))
REFRESH_JOB = "replies.refresh_suggest_index"
log = logging.getLogger(__name__)
_root: Path | None = None


def configure(root: str | Path | None) -> None:
    """Where snapshots live (default ``$CAREDESK_INDEX_DIR`` or ``var/suggest-index``)."""
    global _root
    _root = Path(root) if root is not None else None


def index_root() -> Path:
    return _root or Path(os.environ.get("CAREDESK_INDEX_DIR") or "var/suggest-index")


@dataclass
class PastState:
    """What a process serves for one workspace: the snapshot and its tail."""

    base: PastDocs
    stamp: tuple[str, ...]
    watermark: int
    persisted: bool
    generation: str = ""
    built_at: float = field(default_factory=time.time)
    tail: PastDocs | None = None
    touched: set[int] = field(default_factory=set)
    seen_events: set[int] = field(default_factory=set)
    marks: list[tuple[float, int]] = field(default_factory=list)
    checked_reload: float = field(default_factory=time.monotonic)
    checked_stamp: float = field(default_factory=time.monotonic)
    # Request threads share a state; one folds new events in at a time.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def n_docs(self) -> int:
        return self.base.index.n_docs + (self.tail.index.n_docs if self.tail else 0)


# --------------------------------------------------------------------------- snapshots


def _workspace_dir(session: Session, workspace_id: int) -> Path:
    # Keyed by database too: one machine may serve (or test) several databases.
    engine = session.get_bind().engine
    url = engine.url.render_as_string(hide_password=True)
    key = hashlib.blake2b(url.encode(), digest_size=6).hexdigest()
    return index_root() / key / f"ws-{workspace_id}"


def _from_snapshot(snap: Snapshot) -> PastState:
    return PastState(snap.docs, snap.stamp, snap.watermark, True, snap.generation, snap.built_at)


def load_state(directory: Path) -> PastState | None:
    snap = load_snapshot(directory)
    return _from_snapshot(snap) if snap is not None else None


def rebuild_snapshot(session: Session, workspace_id: int) -> PastState | None:
    """Build and save a new snapshot unless another process is building one right now (then
    None). Seconds to a minute at 100,000 conversations; run it off the request path."""
    directory = _workspace_dir(session, workspace_id)
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "build.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        watermark = newest_event_id(session)
        stamp = solved_stamp(session, workspace_id)
        docs = build_docs(session, workspace_id)
        generation = save_snapshot(directory, docs, stamp, watermark)
    state = load_state(directory)
    if state is not None and state.generation == generation:
        return state
    return PastState(docs, stamp, watermark, persisted=True, generation=generation)


# --------------------------------------------------------------------------- the tail


def refresh_tail(session: Session, workspace_id: int, state: PastState) -> None:
    """Fold in conversations resolved or reopened since the snapshot (see module doc)."""
    with state.lock:
        _refresh_tail(session, workspace_id, state)


def _refresh_tail(session: Session, workspace_id: int, state: PastState) -> None:
    now = time.monotonic()
    scan_from = state.watermark
    for at, mark in state.marks:
        if now - at >= EVENT_OVERLAP:
            scan_from = max(scan_from, mark)
    rows = session.execute(
        select(Event.id, Event.conversation_id)
        .where(
            Event.id > scan_from,
            Event.workspace_id == workspace_id,
            Event.name.in_(TOUCHING),
        )
        .order_by(Event.id)
    ).all()
    state.seen_events = {e for e in state.seen_events if e > scan_from}
    fresh = [(eid, cid) for eid, cid in rows if eid not in state.seen_events]
    newest = max((eid for eid, _ in rows), default=scan_from)
    state.marks = [(at, m) for at, m in state.marks if now - at < 2 * EVENT_OVERLAP]
    state.marks.append((now, newest))
    if not fresh:
        return
    state.seen_events.update(eid for eid, _ in fresh)
    state.touched.update(cid for _, cid in fresh if cid is not None)
    state.tail = build_docs(
        session, workspace_id, sorted(state.touched), weights_from=state.base.index
    )


# --------------------------------------------------------------------------- per process


_states: dict[tuple[str, int], PastState] = {}
_building: set[tuple[str, int]] = set()
_lock = threading.Lock()


def _key(session: Session, workspace_id: int) -> tuple[str, int]:
    return (str(_workspace_dir(session, workspace_id)), workspace_id)


def _build_small(session: Session, workspace_id: int, stamp: tuple[str, ...]) -> PastState:
    return PastState(build_docs(session, workspace_id), stamp, 0, persisted=False)


def _rebuild_in_background(engine: Engine, workspace_id: int, key: tuple[str, int]) -> None:
    def run() -> None:
        try:
            with Session(engine) as session:
                state = rebuild_snapshot(session, workspace_id)
            if state is not None:
                with _lock:
                    _states[key] = state
        except Exception:  # the next request or the periodic job tries again
            log.exception("building the suggestion index of workspace %s failed", workspace_id)
        finally:
            with _lock:
                _building.discard(key)

    with _lock:
        if key in _building:
            return
        _building.add(key)
    threading.Thread(target=run, name=f"suggest-index-{workspace_id}", daemon=True).start()


def past_state(session: Session, workspace_id: int, *, wait: bool = False) -> PastState | None:
    """The index to serve for a workspace, fresh within the module's bound. None only while a
    big desk's very first snapshot is being built (unless ``wait``)."""
    key = _key(session, workspace_id)
    directory = Path(key[0])
    with _lock:
        state = _states.get(key)
    now = time.monotonic()
    if state is None or (state.persisted and now - state.checked_reload >= RELOAD_CHECK):
        if state is not None:
            state.checked_reload = now
        current = current_generation(directory)
        if current is not None and (state is None or current != state.generation):
            loaded = load_state(directory)
            if loaded is not None and _plausible(session, workspace_id, loaded):
                state = loaded
                with _lock:
                    _states[key] = state
    if state is None or not state.persisted:
        stamp = solved_stamp(session, workspace_id)
        if state is not None and state.stamp == stamp:
            return state
        if int(stamp[0]) <= LARGE_INDEX:
            state = _build_small(session, workspace_id, stamp)
        elif wait:
            state = rebuild_snapshot(session, workspace_id) or _build_small(
                session, workspace_id, stamp
            )
        else:
            bind = session.get_bind()
            if isinstance(bind, Engine):
                _rebuild_in_background(bind, workspace_id, key)
            return state
        with _lock:
            _states[key] = state
        return state
    refresh_tail(session, workspace_id, state)
    if _needs_rebuild(session, workspace_id, state, now):
        bind = session.get_bind()
        if isinstance(bind, Engine):
            _rebuild_in_background(bind, workspace_id, key)
    return state


def _plausible(session: Session, workspace_id: int, state: PastState) -> bool:
    """A snapshot must not come from another database that happens to share its URL (a
    recreated one): its newest conversation has to exist here."""
    ids = state.base.conversation_ids
    if len(ids) == 0:
        return True
    newest = int(ids.max())
    found = session.execute(
        select(Conversation.id).where(
            Conversation.id == newest, Conversation.workspace_id == workspace_id
        )
    ).scalar_one_or_none()
    return found is not None


def _needs_rebuild(session: Session, workspace_id: int, state: PastState, now: float) -> bool:
    if len(state.touched) > TAIL_MAX:
        return True
    if now - state.checked_stamp < STAMP_EVERY:
        return False
    state.checked_stamp = now
    old = time.time() - state.built_at >= REBUILD_AFTER
    return old and solved_stamp(session, workspace_id) != state.stamp


def refresh_snapshot(session: Session, workspace_id: int) -> bool:
    """Periodic job body: rebuild a big desk's snapshot when it is missing or out of date.
    True when a new one was written."""
    stamp = solved_stamp(session, workspace_id)
    if int(stamp[0]) <= LARGE_INDEX:
        return False
    directory = _workspace_dir(session, workspace_id)
    state = load_state(directory) if current_generation(directory) else None
    if state is not None:
        if state.stamp == stamp:
            return False
        refresh_tail(session, workspace_id, state)
        young = time.time() - state.built_at < REBUILD_AFTER
        if young and len(state.touched) <= TAIL_MAX:
            return False
    return rebuild_snapshot(session, workspace_id) is not None


def refresh_all(sessions: sessionmaker[Session]) -> list[int]:
    """Periodic sweep: refresh every big desk's snapshot that needs it; the workspaces rebuilt.
    One session per workspace, so a long build holds no other transaction open."""
    with sessions() as session:
        workspace_ids = list(session.execute(select(Workspace.id)).scalars())
    rebuilt = []
    for workspace_id in workspace_ids:
        with sessions() as session:
            if refresh_snapshot(session, workspace_id):
                rebuilt.append(workspace_id)
    return rebuilt


def building(session: Session, workspace_id: int) -> bool:
    with _lock:
        return _key(session, workspace_id) in _building


def forget(workspace_id: int | None = None) -> None:
    """Drop this process's states (tests, or after a bulk import). Snapshots stay on disk."""
    with _lock:
        for key in list(_states):
            if workspace_id is None or key[1] == workspace_id:
                del _states[key]
