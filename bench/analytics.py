"""Report speed on SQLite and PostgreSQL at the issue's size, and the cost of keeping rollups.

Builds one workspace's year of history straight into the event log (the report reads only
events, so no message rows are written): ``--conversations`` conversations spread over 365 days
with a weekday/office-hours profile, ``--messages`` customer and brand messages among them (one
``message.received`` / ``message.sent`` event each), plus openings, assignments, first
responses, resolutions, reopenings, SLA breaches, abandonments, CSAT answers, follow-ups and
notes. A second, smaller workspace is there so every query has to filter. Events go in with
sqlite3 ``executemany`` / PostgreSQL ``COPY`` in big transactions (foreign-key checks off while
loading: the generator only refers to rows it has just written).

``--reuse`` keeps the loaded, not yet folded database per size and schema (a SQLite file under
``--dir``; a PostgreSQL database ``cd_bench_an_<size>``) and starts each run from a copy of it
(file copy / ``CREATE DATABASE ... TEMPLATE``), so only the first run pays for loading; its load
time is kept beside the cache and reported again.

Then, per database:
- ``fold_s`` / ``fold_events_per_s``: the first refresh, folding the whole log into the rollups
  (the set-wise bulk path of ``analytics.rollup``), wall clock and CPU seconds of this process;
- ``month_report_s`` / ``year_report_s``: the full report (every figure, staffing included)
  for the last 30 days and the whole year of the big workspace, median of 3 runs;
- ``rollup_ms_per_post``: one new inbound post recorded and then folded on its own (the
  worst case: a refresh after every post), and ``rollup_ms_per_post_batched``: 500 posts
  folded by one refresh, per post.

Usage: python bench/analytics.py [--messages 30000] [--conversations 10000] [--only sqlite]
       [--reuse] [--dir var/bench/analytics]
The default size runs in about two minutes here. The issue's size is --messages 3000000
--conversations 1000000 (about 7.5 million events; use --reuse). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import shutil
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from caredesk.analytics.report import ReportRequest, build_report
from caredesk.analytics.rollup import refresh_rollups
from caredesk.events import E
from caredesk.kit.clock import FrozenClock
from caredesk.kit.db import make_engine, make_sessionmaker
from caredesk.kit.migrate import alembic_config, upgrade
from caredesk.models import Agent, Conversation, Customer, Event, Membership, Team, Workspace

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
END = datetime(2026, 11, 1, tzinfo=UTC)
NOW = END + timedelta(days=1)
CHANNELS = ("x", "x", "x", "facebook", "instagram", "email", "mastodon")
KINDS = ("care", "care", "care", "care", "sales", "engagement", "noise")
LANGS = ("en", "en", "en", "es", "de", "fr", "pt")
CHUNK = 20_000
LOADER_VERSION = "v2"  # bump when the generated history changes


def hour_weights() -> list[float]:
    """Weekday x hour weights: busy 7 am - 2 pm on weekdays, a quieter evening and weekend."""
    out = []
    for d in range(7):
        for h in range(24):
            day = 0.6 if d >= 5 else 1.0
            hour = 1.0 if 7 <= h < 14 else (0.55 if 14 <= h < 19 else 0.25)
            out.append(day * hour)
    return out


def seed_base(sessions: sessionmaker[Session], agents: int) -> tuple[int, int, list[int], int]:
    """Workspace, a small neighbour, agents, one customer; returns their ids."""
    now = NOW
    with sessions() as s:
        ids = []
        for name in ("Bench Brand", "Neighbour"):
            ws = Workspace(name=name, slug=name.lower().replace(" ", "-"), created_at=now)
            ws.timezone = "Europe/Berlin"
            s.add(ws)
            s.flush()
            ids.append(ws.id)
        team = Team(workspace_id=ids[0], name="Care", kind="care", created_at=now)
        team.business_hours = {
            "weekly": {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        }
        s.add(team)
        customer = Customer(
            workspace_id=ids[0], display_name="Many customers", created_at=now, updated_at=now
        )
        s.add(customer)
        s.flush()
        agent_ids = []
        for i in range(agents):
            a = Agent(
                email=f"bench{i}-{uuid.uuid4().hex[:6]}@example.com",
                name=f"Agent {i}",
                password_hash="x",
                created_at=now,
            )
            s.add(a)
            s.flush()
            s.add(Membership(agent_id=a.id, workspace_id=ids[0]))
            agent_ids.append(a.id)
        s.commit()
        return ids[0], ids[1], agent_ids, customer.id


def conversation_events(
    rng: random.Random, ws: int, cid: int, start: datetime, msgs: int, agents: list[int], team: int
) -> Iterator[dict[str, Any]]:
    """One conversation's events, in the order the desk writes them."""
    channel, kind, lang = rng.choice(CHANNELS), rng.choice(KINDS), rng.choice(LANGS)

    def ev(name: E, at: datetime, agent: int | None = None, **payload: Any) -> dict[str, Any]:
        return {
            "workspace_id": ws,
            "conversation_id": cid,
            "name": str(name),
            "actor_kind": "agent" if agent else "customer",
            "actor_agent_id": agent,
            "payload": payload,
            "occurred_at": at,
            "recorded_at": at,
        }

    yield ev(E.CONVERSATION_OPENED, start, channel=channel, kind=kind)
    inbound = max(1, msgs - msgs // 2)
    outbound = msgs - inbound
    needs = kind != "noise"
    at = start
    for _ in range(inbound):
        yield ev(
            E.MESSAGE_RECEIVED, at, channel=channel, language=lang, kind=kind, needs_reply=needs
        )
        at += timedelta(minutes=rng.expovariate(1 / 30))
    if not outbound:
        if rng.random() < 0.5:
            yield ev(E.ABANDONED, start + timedelta(days=3), reason="no_reply")
        return
    agent = rng.choice(agents)
    yield ev(E.ASSIGNED, start + timedelta(minutes=2), None, to_agent_id=agent, team_id=team)
    first = start + timedelta(minutes=rng.lognormvariate(3.5, 1.4))
    yield ev(E.FIRST_RESPONSE, first, agent)
    for i in range(outbound):
        yield ev(E.MESSAGE_SENT, first + timedelta(minutes=10 * i), agent)
    if rng.random() < 0.08:
        yield ev(E.SLA_BREACHED, first, target="first_response")
    if rng.random() < 0.05:
        yield ev(E.NOTE_ADDED, first, agent)
    if rng.random() < 0.04:
        yield ev(E.FOLLOW_UP_SCHEDULED, first, agent)
        yield ev(E.FOLLOW_UP_DONE if rng.random() < 0.8 else E.FOLLOW_UP_MISSED, first, agent)
    if rng.random() < 0.04:
        yield ev(E.ABANDONED, first + timedelta(days=2), reason="customer_left")
        return
    solved = first + timedelta(minutes=rng.expovariate(1 / 240))
    yield ev(E.RESOLVED, solved, agent, **{"from": "in_progress"})
    if rng.random() < 0.05:
        yield ev(E.CONVERSATION_REOPENED, solved + timedelta(hours=5), None, **{"from": "solved"})
        yield ev(E.RESOLVED, solved + timedelta(hours=6), agent)
    if rng.random() < 0.2:
        yield ev(
            E.CSAT_ANSWERED, solved + timedelta(hours=1), None, score=rng.choice((1, 3, 4, 5, 5))
        )


def _sqlite_time(at: datetime) -> str:
    # The text SQLAlchemy's SQLite DateTime writes (naive UTC, always with microseconds), so
    # bulk-loaded rows compare and sort exactly like rows written through the ORM.
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


EVENT_COLUMNS = (
    "workspace_id",
    "conversation_id",
    "name",
    "actor_kind",
    "actor_agent_id",
    "payload",
    "occurred_at",
    "recorded_at",
)


def _bulk_events(engine: Engine, evs: list[dict[str, Any]]) -> None:
    """One big transaction per chunk: sqlite3 executemany, PostgreSQL COPY."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            # The generator only refers to rows it has just written: checking three foreign
            # keys per event would triple the loading time for nothing.
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.executemany(
                f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e["workspace_id"],
                        e["conversation_id"],
                        e["name"],
                        e["actor_kind"],
                        e["actor_agent_id"],
                        json.dumps(e["payload"]),
                        at,
                        at,  # the generator records every event when it occurs
                    )
                    for e in evs
                    for at in (_sqlite_time(e["occurred_at"]),)
                ],
            )
        else:
            cur.execute("SET LOCAL session_replication_role = replica")  # no FK triggers, as above
            copy_sql = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
            with cur.copy(copy_sql) as copy:  # type: ignore[attr-defined]
                for e in evs:
                    copy.write_row(
                        [e[c] if c != "payload" else json.dumps(e[c]) for c in EVENT_COLUMNS]
                    )
        raw.commit()
        if engine.dialect.name == "sqlite":
            cur.execute("PRAGMA foreign_keys=ON")
    finally:
        raw.close()


def load(
    engine: Engine, sessions: sessionmaker[Session], messages: int, conversations: int
) -> tuple[int, int]:
    """Bulk-insert conversations and their events; returns (workspace id, event count)."""
    rng = random.Random(11)
    ws, neighbour, agents, customer = seed_base(sessions, 60)
    with sessions() as s:
        team = s.execute(select(Team.id).where(Team.workspace_id == ws)).scalar_one()
    weights = hour_weights()
    slots = list(range(7 * 24))
    year_start = END - timedelta(days=365)
    events = 0
    per_conv = messages / conversations
    counts = [max(1, round(rng.gauss(per_conv, 1.0))) for _ in range(conversations)]
    small = max(10, conversations // 50)
    plan = [(ws, n) for n in counts] + [(neighbour, 3) for _ in range(small)]
    with engine.begin() as conn:
        next_id = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM conversations")).scalar_one()
    cum_weights = list(itertools.accumulate(weights))
    for lo in range(0, len(plan), CHUNK):
        part = plan[lo : lo + CHUNK]
        convs, evs = [], []
        for i, (w, n) in enumerate(part):
            cid = next_id + lo + i + 1
            day = year_start + timedelta(days=rng.randrange(365))
            # Weighted weekday/hour, then the calendar day that has that weekday.
            slot = rng.choices(slots, cum_weights=cum_weights)[0]
            d, h = divmod(slot, 24)
            day += timedelta(days=(d - day.weekday()) % 7)
            start = min(END, day.replace(hour=h) + timedelta(seconds=rng.randrange(3600)))
            convs.append(
                {
                    "id": cid,
                    "workspace_id": w,
                    "number": lo + i + 1,
                    "reference": f"B-{lo + i + 1}",
                    "customer_id": customer,
                    "channel": "x",
                    "last_message_at": start,
                    "created_at": start,
                    "updated_at": start,
                }
            )
            evs.extend(conversation_events(rng, w, cid, start, n, agents, team))
        with engine.begin() as conn:
            conn.execute(insert(Conversation.__table__), convs)  # type: ignore[arg-type]
        _bulk_events(engine, evs)
        events += len(evs)
        if (lo // CHUNK) % 10 == 9:
            print(f"    {lo + len(part)} conversations, {events} events")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text(f"SELECT setval('conversations_id_seq', {next_id + len(plan)})"))
            conn.commit()
            conn.execute(text("ANALYZE"))
            conn.commit()
    return ws, events


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def workspace_of(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """The big workspace of an already loaded database, and its event count."""
    with sessions() as s:
        ws = s.execute(select(Workspace.id).where(Workspace.slug == "bench-brand")).scalar_one()
        n = s.execute(select(func.count()).select_from(Event)).scalar_one()
    return int(ws), int(n)


def run(url: str, messages: int, conversations: int, loaded: bool) -> dict[str, Any]:
    """``loaded``: the database at ``url`` already holds this size's event log (``--reuse``)."""
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    clock = FrozenClock(NOW)
    load_s: float | None = None
    if loaded:
        ws, events = workspace_of(sessions)
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:  # a template copy starts without statistics
                conn.execute(text("ANALYZE"))
                conn.commit()
        print(f"  reusing {events} loaded events")
    else:
        t0 = time.perf_counter()
        ws, events = load(engine, sessions, messages, conversations)
        load_s = time.perf_counter() - t0
        print(f"  loaded {events} events in {load_s:.1f} s ({events / load_s:.0f} events/s)")

    with sessions() as s:
        t0, c0 = time.perf_counter(), _cpu()
        folded = refresh_rollups(s, clock, settle_seconds=0)
        s.commit()
        fold_s, fold_cpu = time.perf_counter() - t0, _cpu() - c0
    print(
        f"  folded {folded.events} events ({folded.conversations} conversations) in "
        f"{fold_s:.1f} s, {fold_cpu:.1f} s CPU here ({folded.events / fold_s:.0f} events/s)"
    )
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk change: statistics (without them the planner thinks
        # the rollup tables are still empty) and the visibility map (index-only scans).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("report_conversations", "report_daily", "report_hourly"):
                conn.execute(text(f"VACUUM ANALYZE {table}"))
            conn.execute(text("ANALYZE"))

    def report(since: date | None) -> Callable[[], object]:
        def go() -> object:
            with sessions() as s:
                data = build_report(s, clock, ReportRequest(workspace=str(ws), since=since))
                s.commit()
                return data

        return go

    c0 = _cpu()
    month = timed(report((END - timedelta(days=30)).date()))
    month_cpu = (_cpu() - c0) / 3
    c0 = _cpu()
    year = timed(report(None))
    year_cpu = (_cpu() - c0) / 3
    with sessions() as s:
        summary = build_report(s, clock, ReportRequest(workspace=str(ws)))
    print(
        f"  month report {month:.3f} s ({month_cpu:.3f} s CPU in Python), year report "
        f"{year:.3f} s ({year_cpu:.3f} s CPU in Python)"
    )
    print(
        f"  year: {summary['conversations']} conversations, first response median "
        f"{summary['first_response_minutes']['median']} min, response rate "
        f"{summary['response_rate']}, {len(summary['staffing']['understaffed'])} short hours"
    )

    with sessions() as s:
        cids = list(
            s.execute(
                select(Conversation.id).where(Conversation.workspace_id == ws).limit(500)
            ).scalars()
        )

    def post(s: Session, cid: int, at: datetime) -> None:
        s.execute(
            insert(Event.__table__),  # type: ignore[arg-type]
            [
                {
                    "workspace_id": ws,
                    "conversation_id": cid,
                    "name": str(E.MESSAGE_RECEIVED),
                    "actor_kind": "customer",
                    "actor_agent_id": None,
                    "payload": {"channel": "x", "language": "en", "kind": "care"},
                    "occurred_at": at,
                    "recorded_at": at,
                }
            ],
        )

    single = []
    for i, cid in enumerate(cids[:200]):
        with sessions() as s:
            post(s, cid, END + timedelta(minutes=i))
            s.commit()
            t0 = time.perf_counter()
            refresh_rollups(s, clock, settle_seconds=0)
            s.commit()
            single.append(time.perf_counter() - t0)
    with sessions() as s:
        for i, cid in enumerate(cids):
            post(s, cid, END + timedelta(hours=5, minutes=i))
        s.commit()
        t0 = time.perf_counter()
        refresh_rollups(s, clock, settle_seconds=0)
        s.commit()
        batched = (time.perf_counter() - t0) / max(1, len(cids))
    engine.dispose()
    out = {
        "events": events,
        "load_s": None if load_s is None else round(load_s, 2),
        "fold_s": round(fold_s, 2),
        "fold_cpu_s": round(fold_cpu, 2),
        "fold_events_per_s": round(folded.events / fold_s),
        "month_report_s": round(month, 4),
        "year_report_s": round(year, 4),
        "month_report_python_cpu_s": round(month_cpu, 4),
        "year_report_python_cpu_s": round(year_cpu, 4),
        "rollup_ms_per_post": round(1000 * statistics.median(single), 3),
        "rollup_ms_per_post_batched": round(1000 * batched, 3),
    }
    print(f"  {out}")
    return out


def _cache_key(messages: int, conversations: int) -> str:
    # The schema is part of the key: a cached database from before a migration is rebuilt.
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_revision(script.get_current_head())
    assert head is not None and head.path is not None
    digest = hashlib.sha1(Path(head.path).read_bytes()).hexdigest()[:8]
    return f"{messages}m_{conversations}c_{LOADER_VERSION}_{head.revision}_{digest}"


def _sqlite(args: argparse.Namespace) -> dict[str, Any]:
    work_dir = Path(args.dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    work = work_dir / f"work-{os.getpid()}.db"
    cached = work_dir / f"loaded-{_cache_key(args.messages, args.conversations)}.db"
    try:
        note = cached.with_suffix(".json")
        if args.reuse and not cached.exists():
            # Load once, then keep a copy of the loaded (not yet folded) database.
            run_only_load(f"sqlite:///{cached}", args.messages, args.conversations, note)
        if args.reuse:
            shutil.copyfile(cached, work)
        out = run(f"sqlite:///{work}", args.messages, args.conversations, loaded=args.reuse)
        if args.reuse and note.exists():
            out.update(json.loads(note.read_text()))
        return out
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)


def _pg(args: argparse.Namespace) -> dict[str, Any]:
    admin = make_engine(PG_ADMIN)
    cached = f"cd_bench_an_{_cache_key(args.messages, args.conversations)}"  # < 64 characters
    name = f"caredesk_bench_analytics_{uuid.uuid4().hex[:6]}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    note = Path(args.dir) / f"pg-{cached}.json"
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            have = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": cached}
            ).first()
            if args.reuse and not have:
                conn.execute(text(f'CREATE DATABASE "{cached}"'))
                run_only_load(f"{base}/{cached}", args.messages, args.conversations, note)
            # A template copy is a file copy: seconds, where loading takes minutes.
            template = f' TEMPLATE "{cached}"' if args.reuse else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
        out = run(f"{base}/{name}", args.messages, args.conversations, loaded=args.reuse)
        if args.reuse and note.exists():
            out.update(json.loads(note.read_text()))
        return out
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_only_load(url: str, messages: int, conversations: int, note: Path) -> None:
    """Load the cache once; ``note`` keeps how long that took for later runs' JSON."""
    upgrade(url)
    engine = make_engine(url)
    t0, c0 = time.perf_counter(), _cpu()
    _ws, events = load(engine, make_sessionmaker(engine), messages, conversations)
    load_s, load_cpu = time.perf_counter() - t0, _cpu() - c0
    print(f"  loaded {events} events into the cache in {load_s:.1f} s ({load_cpu:.1f} s CPU here)")
    note.write_text(
        json.dumps(
            {
                "load_s": round(load_s, 2),
                "load_cpu_s": round(load_cpu, 2),
                "load_events_per_s": round(events / load_s),
                "load_loadavg": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=30_000)
    ap.add_argument("--conversations", type=int, default=10_000)
    ap.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep the loaded database per size (SQLite file under --dir, PostgreSQL database "
        "caredesk_bench_analytics_<size>) and start from a copy of it next time",
    )
    ap.add_argument("--dir", default="var/bench/analytics", help="where SQLite databases go")
    args = ap.parse_args()
    if args.conversations < 100 or args.messages < args.conversations:
        ap.error("need at least 100 conversations and one message per conversation")
    print(f"size: {args.messages} messages, {args.conversations} conversations, one year")
    print(f"load average at start: {os.getloadavg()}")
    results: dict[str, Any] = {}
    if args.only in (None, "sqlite"):
        print("sqlite")
        results["sqlite"] = _sqlite(args)
    if args.only in (None, "postgresql"):
        print("postgresql")
        results["postgresql"] = _pg(args)
    print(
        json.dumps(
            {
                "bench": "analytics",
                "messages": args.messages,
                "conversations": args.conversations,
                "loadavg": [round(x, 2) for x in os.getloadavg()],
                **{
                    f"{db}_{k}": v
                    for db, r in results.items()
                    for k, v in r.items()
                    if k
                    in (
                        "month_report_s",
                        "year_report_s",
                        "rollup_ms_per_post",
                        "rollup_ms_per_post_batched",
                        "fold_events_per_s",
                        "load_s",
                        "load_events_per_s",
                    )
                },
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
