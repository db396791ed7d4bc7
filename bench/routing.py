"""Routing and SLA speed on a loaded desk: assignment decisions/s, SLA sweep time per pass and
the delay from a due time to its breach event.

Run: .venv/bin/python bench/routing.py [--conversations 20000] [--agents 200]
     [--database-url sqlite:////tmp/x.db | postgresql+psycopg://...]
The issue's size is --conversations 100000 (about 5 minutes here, most of it building the
data); the default of 20000 keeps a run under 3 minutes.
Builds a fresh database (SQLite in a temp dir by default), prints figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from caredesk.conversations import sla
from caredesk.conversations.agents import do_create_team, do_create_workspace
from caredesk.events import E
from caredesk.kit.business_hours import BusinessHours
from caredesk.kit.clock import SystemClock
from caredesk.kit.db import make_engine
from caredesk.kit.migrate import upgrade
from caredesk.models import Agent, Conversation, Customer, Event, Membership, TeamMember
from caredesk.routing import repository as repo
from caredesk.routing.agents import AssignInput, choose_agent
from caredesk.routing.service import do_auto_assign, do_drain_queue
from caredesk.routing.sweeper import do_sweep_timers
from caredesk.routing.teams import RouteInput, route

TEAMS = 4
LANGS = ("en", "da", "hi", "ur", "te")
CHANNELS = ("x", "mastodon", "facebook", "email", "webform")


def _state(start: datetime, target_s: float) -> dict[str, Any]:
    policy = sla.PolicyView(1, None, None, None, int(target_s // 60) or 1, None, None)
    facts = sla.SlaFacts("new", start, None, None, None)
    state = sla.compute_state({}, policy, facts, BusinessHours.always_open(), opened_at=start)
    # Exact seconds (the policy is in minutes): the delay bench needs sub-minute due times.
    clock = {"start": start.isoformat(), "target_s": target_s, "credit_s": 0.0}
    state["clocks"] = {"first_response": sla.compute_clock(clock, BusinessHours.always_open(), 0.8)}
    return state


def build(
    sessions: sessionmaker[Session], n_conv: int, n_agents: int, now: datetime
) -> dict[str, Any]:
    rnd = random.Random(5)
    clock = SystemClock()
    with sessions() as s:
        ws = do_create_workspace(s, clock, "Bench")
        teams = [do_create_team(s, clock, ws, f"Care {i}", "care") for i in range(TEAMS)]
        for i, t in enumerate(teams):
            t.languages = [LANGS[i % len(LANGS)], "en"]
        s.flush()
        agent_rows = [
            {
                "email": f"a{i}@bench.invalid",
                "name": f"Agent {i}",
                "password_hash": "!",
                "role": "agent",
                "languages": ["en", LANGS[i % len(LANGS)]],
                "channels": [],
                "timezone": "UTC",
                "ui_language": "en",
                "capacity": max(10, 2 * n_conv // n_agents),
                "presence": "online" if i % 10 else "away",
                "is_active": True,
                "created_at": now,
            }
            for i in range(n_agents)
        ]
        s.execute(insert(Agent), agent_rows)
        agent_ids = list(s.execute(select(Agent.id).order_by(Agent.id)).scalars())
        s.execute(
            insert(Membership),
            [{"agent_id": a, "workspace_id": ws.id, "role": "agent"} for a in agent_ids],
        )
        s.execute(
            insert(TeamMember),
            [
                {"team_id": teams[i % TEAMS].id, "agent_id": a, "is_backup": False}
                for i, a in enumerate(agent_ids)
            ],
        )
        s.execute(
            insert(Customer),
            [
                {
                    "workspace_id": ws.id,
                    "display_name": f"c{i}",
                    "vip": False,
                    "tags": [],
                    "contact_details": {},
                    "notes": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n_conv)
            ],
        )
        customer_ids = list(s.execute(select(Customer.id).order_by(Customer.id)).scalars())
        rows = []
        for i, cid in enumerate(customer_ids):
            team = teams[i % TEAMS]
            # Opened over the past 2 hours, 4-hour first-response target: far from due.
            start = now - timedelta(seconds=rnd.uniform(0, 7200))
            state = _state(start, 4 * 3600.0)
            c = state["clocks"]["first_response"]
            owned = i % 5 != 0
            rows.append(
                {
                    "workspace_id": ws.id,
                    "number": i + 1,
                    "reference": f"B-{i + 1}",
                    "customer_id": cid,
                    "channel": CHANNELS[i % len(CHANNELS)],
                    "status": "in_progress" if owned else "new",
                    "priority": "normal",
                    "kind": "care",
                    "language": "en",
                    "needs_reply": True,
                    "triage_reasons": [],
                    "team_id": team.id,
                    "assignee_id": agent_ids[(i // TEAMS) % n_agents] if owned else None,
                    "is_private": False,
                    "unaddressed": False,
                    "tags": [],
                    "message_count": 1,
                    "first_inbound_at": start,
                    "last_inbound_at": start,
                    "last_message_at": start,
                    "sla_state": state,
                    "first_response_due_at": datetime.fromisoformat(c["due"]),
                    "sla_due_at": datetime.fromisoformat(c["due"]),
                    "timer_due_at": datetime.fromisoformat(c["near"]),
                    "imported": False,
                    "version": 1,
                    "created_at": start,
                    "updated_at": start,
                }
            )
            if len(rows) == 5000:
                s.execute(insert(Conversation), rows)
                rows = []
        if rows:
            s.execute(insert(Conversation), rows)
        s.execute(
            text("UPDATE workspaces SET next_conversation_number = :n WHERE id = :w"),
            {"n": n_conv + 1, "w": ws.id},
        )
        s.commit()
        return {"workspace_id": ws.id, "team_ids": [t.id for t in teams]}


def bench_pure(sessions: sessionmaker[Session], info: dict[str, Any], n: int) -> float:
    """Routing decisions alone (team choice + agent choice over the team's 50 agents)."""
    with sessions() as s:
        teams = repo.team_views(s, info["workspace_id"])
        rules = repo.rule_views(s, info["workspace_id"])
        agents = repo.team_agent_views(s, info["team_ids"][0])
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for i in range(n):
        lang = LANGS[i % len(LANGS)]
        route(RouteInput(kind="care", language=lang, channel="x"), teams, rules, now)
        choose_agent(AssignInput(language=lang, channel="x"), agents)
    return n / (time.perf_counter() - t0)


def bench_assign(sessions: sessionmaker[Session], info: dict[str, Any], n: int) -> float:
    """Queue draining with the database, 100 per transaction: team views and loads read once
    per batch, then per conversation sticky-owner lookup, decision, compare-and-set, event."""
    clock = SystemClock()
    done = 0
    t0 = time.perf_counter()
    while done < n:
        before = done
        for team_id in info["team_ids"]:
            with sessions() as s:
                done += do_drain_queue(s, clock, team_id, limit=min(100, n - done))
                s.commit()
            if done >= n:
                break
        if done == before:
            break
    return done / (time.perf_counter() - t0)


def bench_assign_single(sessions: sessionmaker[Session], n: int) -> float:
    """One assignment per transaction (a new conversation arriving): loads counted each time."""
    clock = SystemClock()
    with sessions() as s:
        ids = list(
            s.execute(
                select(Conversation.id)
                .where(Conversation.assignee_id.is_(None))
                .order_by(Conversation.id.desc())
                .limit(n)
            ).scalars()
        )
    t0 = time.perf_counter()
    for cid in ids:
        with sessions() as s:
            do_auto_assign(s, clock, s.get_one(Conversation, cid))
            s.commit()
    return len(ids) / (time.perf_counter() - t0)


def bench_sweep(sessions: sessionmaker[Session], due_per_pass: int) -> tuple[float, float]:
    """One pass with nothing due, and one pass that handles ``due_per_pass`` due rows."""
    clock = SystemClock()
    with sessions() as s:
        t0 = time.perf_counter()
        do_sweep_timers(s, clock, limit=1000)
        s.commit()
        idle_ms = (time.perf_counter() - t0) * 1000
        # Make a batch due now (near-breach moment passed): the pass records their events.
        ids = list(
            s.execute(
                select(Conversation.id).order_by(Conversation.id).limit(due_per_pass)
            ).scalars()
        )
        past = clock.now() - timedelta(seconds=1)
        for c in repo.conversations_by_ids(s, ids):
            c.sla_state = _state(past - timedelta(seconds=3600), 3600.0)
            c.timer_due_at = past
        s.commit()
        t0 = time.perf_counter()
        result = do_sweep_timers(s, clock, limit=due_per_pass)
        s.commit()
        busy_ms = (time.perf_counter() - t0) * 1000
        assert result.examined == due_per_pass, result
    return idle_ms, busy_ms


def bench_delay(sessions: sessionmaker[Session], count: int, interval: float) -> list[float]:
    """Due times spread over the next few seconds; a sweeper loop every ``interval`` s; the
    delay is recorded_at - due time of each breach event."""
    clock = SystemClock()
    with sessions() as s:
        ids = list(
            s.execute(
                select(Conversation.id).order_by(Conversation.id.desc()).limit(count)
            ).scalars()
        )
        base = clock.now() + timedelta(seconds=2)
        for i, c in enumerate(repo.conversations_by_ids(s, ids)):
            due = base + timedelta(seconds=5 * i / count)
            state = _state(due - timedelta(seconds=10), 10.0)
            state["fired"] = [f"first_response:near:{state['clocks']['first_response']['start']}"]
            c.sla_state, c.timer_due_at, c.sla_due_at = state, due, due
        s.commit()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with sessions() as s:
                do_sweep_timers(s, clock, limit=1000)
                s.commit()
            stop.wait(interval)

    worker = threading.Thread(target=loop)
    worker.start()
    time.sleep(9)
    stop.set()
    worker.join()
    with sessions() as s:
        rows = s.execute(
            select(Event.occurred_at, Event.recorded_at).where(
                Event.name == str(E.SLA_BREACHED), Event.conversation_id.in_(ids)
            )
        ).all()
    return [(rec - occ).total_seconds() * 1000 for occ, rec in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--conversations", type=int, default=20_000, help="issue size: 100000")
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--assignments", type=int, default=2000)
    ap.add_argument("--due-per-pass", type=int, default=1000)
    ap.add_argument("--sweep-interval", type=float, default=0.25)
    ap.add_argument("--breaches", type=int, default=200, help="spread over 5 s")
    args = ap.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    info = build(sessions, args.conversations, args.agents, now)
    with sessions() as s:
        open_n = s.execute(select(func.count()).select_from(Conversation)).scalar_one()
    print(
        f"built {open_n} open conversations, {args.agents} agents, {TEAMS} teams on "
        f"{engine.dialect.name} in {time.perf_counter() - t0:.1f} s"
    )
    pure = bench_pure(sessions, info, 20_000)
    print(f"pure routing decisions (team + agent among {args.agents // TEAMS}): {pure:,.0f}/s")
    single = bench_assign_single(sessions, 200)
    print(f"assignments one per transaction (load counts, CAS, event, commit): {single:,.0f}/s")
    assigns = bench_assign(sessions, info, args.assignments)
    print(f"assignments draining queues, 100 per transaction: {assigns:,.0f}/s")
    idle_ms, busy_ms = bench_sweep(sessions, args.due_per_pass)
    print(
        f"SLA sweep pass, nothing due: {idle_ms:.1f} ms; {args.due_per_pass} due: {busy_ms:.1f} ms"
    )
    delays = sorted(bench_delay(sessions, args.breaches, args.sweep_interval))
    p50 = statistics.median(delays)
    p99 = delays[min(len(delays) - 1, int(0.99 * len(delays)))]
    print(
        f"breach delay over {len(delays)} breaches, sweep every {args.sweep_interval} s: "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {delays[-1]:.0f} ms"
    )
    print(
        json.dumps(
            {
                "conversations": open_n,
                "agents": args.agents,
                "database": engine.dialect.name,
                "assignments_per_s": round(assigns, 1),
                "assignments_single_per_s": round(single, 1),
                "routing_decisions_per_s": round(pure, 1),
                "sla_sweep_ms": round(busy_ms, 1),
                "sla_sweep_idle_ms": round(idle_ms, 2),
                "sla_sweep_due_rows": args.due_per_pass,
                "breach_events": len(delays),
                "breach_delay_ms_p50": round(p50, 1),
                "breach_delay_ms_p99": round(p99, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
