"""Web desk CPU per page: what one inbox, conversation or search page costs the server.

Under 50 agents the desk's p95 is queueing for the CPU, so the figure that matters is the
server's CPU time per page, not one page's latency. This serves the real app (one uvicorn
process, as ``caredesk serve``) on a database seeded by bench/web_seed.py, signs in as one
agent and requests each kind of page one at a time (the same mix as bench/web.py: the eight
queues, random conversations of the agent's workspace, searches for a common word, its prefix
or an order number), reading the server process's user + system CPU time from /proc around
each batch. SQLite does its query work inside the server process, so it is counted too;
PostgreSQL's backends are not. It also counts the SQL statements per page (the app in this
process, with an engine listener).

Usage: python bench/web_cpu.py [--conversations 20000] [--requests 150] [--only sqlite|postgres]
       [--reuse]
The default (20,000 conversations, 150 pages of each kind per database) runs in about a
minute here. Conversation pages record "viewed" events, as in bench/web.py. Ends with one
JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, text
from web import (  # bench/ is on sys.path when run as a script
    PG_ADMIN,
    QUEUE_MIX,
    SEARCH_WORDS,
    prepare,
    server_cpu_s,
    start_server,
    world_of,
)
from web_seed import PASSWORD, order_word

from caredesk.kit.db import make_engine

KINDS = ("inbox", "conversation", "search")


def page_paths(kind: str, n: int, conversations: list[int], rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        if kind == "inbox":
            out.append(f"/inbox?queue={rng.choice(QUEUE_MIX)}")
        elif kind == "conversation":
            out.append(f"/c/{rng.choice(conversations)}")
        else:
            roll, word = rng.random(), rng.choice(SEARCH_WORDS)
            q = (
                word
                if roll < 0.4
                else word[:4]
                if roll < 0.6
                else order_word(rng.choice(conversations))
            )
            out.append(f"/inbox?queue=all&q={q}")
    return out


def _sign_in_form(page: str) -> str:
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def cpu_per_page(pid: int, base: str, email: str, paths: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        token = _sign_in_form(client.get("/login").text)
        client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        for kind in KINDS:  # warm-up: imports, compiled templates and statements, the pool
            for path in paths[kind][:20]:
                client.get(path)
        for kind in KINDS:
            walls = []
            before = server_cpu_s(pid)
            for path in paths[kind]:
                began = time.perf_counter()
                r = client.get(path)
                walls.append(time.perf_counter() - began)
                if r.status_code != 200:
                    raise SystemExit(f"{path} -> {r.status_code}")
            used = server_cpu_s(pid) - before
            n = len(paths[kind])
            out[f"{kind}_cpu_ms"] = round(1000 * used / n, 2)
            out[f"{kind}_wall_p50_ms"] = round(1000 * statistics.median(walls), 1)
    return out


def queries_per_page(url: str, email: str, paths: dict[str, list[str]]) -> dict[str, Any]:
    """SQL statements each page runs, counted on the app's own engine in this process."""
    from caredesk.app import create_app
    from caredesk.config import Settings
    from caredesk.kit.clock import SystemClock
    from caredesk.kit.db import make_sessionmaker
    from caredesk.kit.runtime import Runtime

    engine = make_engine(url)
    rt = Runtime(
        Settings(database_url=url, secret_key="bench-secret-key-123456"),
        engine,
        make_sessionmaker(engine),
        SystemClock(),
    )
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    app = create_app(rt)

    async def run() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = _sign_in_form((await client.get("/login")).text)
            data = {"email": email, "password": PASSWORD, "csrf_token": token}
            await client.post("/login", data=data)
            out: dict[str, Any] = {}
            for kind in KINDS:
                counts = []
                for path in paths[kind][:30]:
                    statements.clear()
                    await client.get(path)
                    counts.append(len(statements))
                out[f"{kind}_queries"] = round(statistics.fmean(counts), 1)
            return out

    try:
        return asyncio.run(run())
    finally:
        engine.dispose()


def drop(label: str, names: list[str]) -> None:
    """What ``prepare`` seeded for this run only (without --reuse)."""
    for name in names:
        if label == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(name + suffix).unlink(missing_ok=True)
            continue
        admin = make_engine(PG_ADMIN)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_db(label: str, n: int, requests: int, reuse: bool) -> dict[str, Any]:
    url, seeded, dropped = prepare(label, PG_ADMIN if label == "postgres" else "", n, 50, reuse)
    engine = make_engine(url)
    world = world_of(engine)
    engine.dispose()
    _, workspace, email = world["agents"][0]
    rng = random.Random(7)
    paths = {k: page_paths(k, requests, world["conversations"][workspace], rng) for k in KINDS}
    proc, base = start_server(url, 1)
    try:
        out = cpu_per_page(proc.pid, base, email, paths)
        proc.terminate()
        proc.wait(timeout=20)
        out.update(queries_per_page(url, email, paths))
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)
        drop(label, dropped)
    out["seed_s"] = None if seeded is None else round(seeded, 1)
    print(
        f"{label}: server CPU per page: inbox {out['inbox_cpu_ms']} ms "
        f"({out['inbox_queries']} queries) · conversation {out['conversation_cpu_ms']} ms "
        f"({out['conversation_queries']}) · search {out['search_cpu_ms']} ms "
        f"({out['search_queries']})"
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=150, help="pages of each kind")
    ap.add_argument("--only", choices=("sqlite", "postgres"))
    ap.add_argument("--reuse", action="store_true", help="reuse bench/web.py's seeded databases")
    args = ap.parse_args()
    line: dict[str, Any] = {
        "bench": "web_cpu",
        "conversations": args.conversations,
        "requests_per_kind": args.requests,
    }
    for label in ("sqlite", "postgres"):
        if args.only in (None, label):
            line[label] = run_db(label, args.conversations, args.requests, args.reuse)
    line["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
