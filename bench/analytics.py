"""Report speed on SQLite and PostgreSQL, and the cost of keeping rollups up to date.

Builds one workspace's year of history straight into the event log with bulk inserts (the
report reads only events, so no message rows are written): ``--conversations`` conversations
spread over 365 days with a weekday/office-hours profile, ``--messages`` customer and brand
messages among them (one ``message.received`` / ``message.sent`` event each), plus openings,
assignments, first responses, resolutions, reopenings, SLA breaches, abandonments, CSAT answers,
follow-ups and notes. A second, smaller workspace is there so every query has to filter.

Then, per database:
- ``fold_s``: the first refresh, folding the whole log into the rollups;
- ``month_report_s`` / ``year_report_s``: the full report (every figure, staffing included)
  for the last 30 days and the whole year of the big workspace, median of 3 runs;
- ``rollup_ms_per_post``: one new inbound post recorded and then folded on its own (the
  worst case: a refresh after every post), and ``rollup_ms_per_post_batched``: 500 posts
  folded by one refresh, per post.

Usage: python bench/analytics.py [--messages 30000] [--conversations 10000] [--only sqlite]
The issue's size is --messages 3000000 --conversations 1000000: hours on a shared 2-CPU machine
(loading and the first fold each run at a few thousand events per second there).
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from caredesk.analytics.report import ReportRequest, build_report
from caredesk.analytics.rollup import refresh_rollups
from caredesk.events import E
from caredesk.kit.clock import FrozenClock
from caredesk.kit.db import make_engine, make_sessionmaker
from caredesk.kit.migrate import upgrade
from caredesk.models import Agent, Conversation, Customer, Event, Membership, Team, Workspace

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
END = datetime(2026, 11, 1, tzinfo=UTC)
NOW = END + timedelta(days=1)
CHANNELS = ("x", "x", "x", "facebook", "instagram", "email", "mastodon")
KINDS = ("care", "care", "care", "care", "sales", "engagement", "noise")
LANGS = ("en", "en", "en", "es", "de", "fr", "pt")
CHUNK = 20_000


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
    for lo in range(0, len(plan), CHUNK):
        part = plan[lo : lo + CHUNK]
        convs, evs = [], []
        for i, (w, n) in enumerate(part):
            cid = next_id + lo + i + 1
            day = year_start + timedelta(days=rng.randrange(365))
            # Weighted weekday/hour, then the calendar day that has that weekday.
            slot = rng.choices(slots, weights)[0]
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
            for k in range(0, len(evs), CHUNK):
                conn.execute(insert(Event.__table__), evs[k : k + CHUNK])  # type: ignore[arg-type]
        events += len(evs)
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


def run(url: str, messages: int, conversations: int) -> dict[str, Any]:
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    clock = FrozenClock(NOW)
    t0 = time.perf_counter()
    ws, events = load(engine, sessions, messages, conversations)
    load_s = time.perf_counter() - t0
    print(f"  loaded {events} events in {load_s:.1f} s")

    with sessions() as s:
        t0 = time.perf_counter()
        folded = refresh_rollups(s, clock, settle_seconds=0)
        s.commit()
        fold_s = time.perf_counter() - t0
    print(f"  folded {folded.events} events in {fold_s:.1f} s")
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk change; without it the planner thinks the rollup
        # tables are still empty and walks indexes row by row.
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()

    def report(since: date | None) -> Callable[[], object]:
        def go() -> object:
            with sessions() as s:
                data = build_report(s, clock, ReportRequest(workspace=str(ws), since=since))
                s.commit()
                return data

        return go

    month = timed(report((END - timedelta(days=30)).date()))
    year = timed(report(None))
    with sessions() as s:
        summary = build_report(s, clock, ReportRequest(workspace=str(ws)))
    print(f"  month report {month:.3f} s, year report {year:.3f} s")
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
        "load_s": round(load_s, 2),
        "fold_s": round(fold_s, 2),
        "fold_events_per_s": round(folded.events / fold_s),
        "month_report_s": round(month, 4),
        "year_report_s": round(year, 4),
        "rollup_ms_per_post": round(1000 * statistics.median(single), 3),
        "rollup_ms_per_post_batched": round(1000 * batched, 3),
    }
    print(f"  {out}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=30_000)
    ap.add_argument("--conversations", type=int, default=10_000)
    ap.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    args = ap.parse_args()
    if args.conversations < 100 or args.messages < args.conversations:
        ap.error("need at least 100 conversations and one message per conversation")
    print(f"size: {args.messages} messages, {args.conversations} conversations, one year")
    results: dict[str, Any] = {}
    if args.only in (None, "sqlite"):
        tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-analytics-"))
        print("sqlite")
        results["sqlite"] = run(f"sqlite:///{tmp / 'bench.db'}", args.messages, args.conversations)
    if args.only in (None, "postgresql"):
        admin = make_engine(PG_ADMIN)
        name = f"caredesk_bench_analytics_{uuid.uuid4().hex[:6]}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print("postgresql")
            url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
            results["postgresql"] = run(url, args.messages, args.conversations)
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(
        json.dumps(
            {
                "bench": "analytics",
                "messages": args.messages,
                "conversations": args.conversations,
                **{
                    f"{db}_{k}": v
                    for db, r in results.items()
                    for k, v in r.items()
                    if k in ("month_report_s", "year_report_s", "rollup_ms_per_post")
                },
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
