"""Web desk under load: inbox, conversation page and full-text search on SQLite and PostgreSQL.

Seeds N conversations and 3N messages (bulk inserts, real demo post texts) into a fresh SQLite
file and a fresh PostgreSQL database, serves the real app with uvicorn in a child process, and
lets 50 simulated agents (httpx, async, each signed in as themselves) loop over: their inbox,
a conversation page of their workspace, and a text search. Server time is measured inside the
server (an ASGI wrapper that adds ``Server-Timing``), so client-side queueing does not count.
Also prints the page weight of the assets a page loads and whether any is external.

Usage: python bench/web.py [--conversations 50000] [--agents 50] [--rounds 12] [--think 1.0]
       [--only sqlite|postgres]
The issue's size is --conversations 1000000 (3,000,000 messages); the default (50,000 / 150,000)
runs in a few minutes here. 5% of conversations are open, as on a desk with a long history.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
from sqlalchemy import Engine, insert, text

from caredesk.importers.demo import demo_posts_path
from caredesk.kit.db import make_engine
from caredesk.kit.migrate import upgrade
from caredesk.kit.passwords import hash_password
from caredesk.models import (
    Agent,
    Conversation,
    Customer,
    Membership,
    Message,
    Team,
    TeamMember,
    Workspace,
)

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-password-123"
CHANNELS = ("x", "mastodon", "facebook", "instagram", "email")
LANGS = ("en", "en", "en", "da", "hi", "ur", "te")
OPEN = ("new", "in_progress", "pending", "acknowledged")
OPEN_SHARE = 0.05  # a busy desk's history is mostly closed
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")
KINDS = ("care", "care", "care", "sales", "engagement")
SEARCH_WORDS = ("router", "refund", "wifi", "order", "broken", "delivery", "bill", "app")
BATCH = 5000


# --------------------------------------------------------------------------- seeding


def corpus() -> list[str]:
    texts = []
    with demo_posts_path().open(encoding="utf-8") as fh:
        for line in fh:
            t = json.loads(line).get("text") or ""
            if t.strip():
                texts.append(t)
    return texts


def seed(engine: Engine, n: int, agents: int, rng: random.Random) -> dict[str, Any]:
    texts = corpus()
    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    workspaces = 2  # a second brand so every query has to scope by workspace
    with engine.begin() as conn:
        ws_ids = []
        for i in range(workspaces):
            ws_ids.append(
                conn.execute(
                    insert(Workspace).returning(Workspace.id),
                    {
                        "name": f"Bench {i}",
                        "slug": f"bench-{i}",
                        "timezone": "Europe/Copenhagen",
                        "default_language": "en",
                        "reference_prefix": f"B{i}",
                        "next_conversation_number": n + 1,
                        "settings": {},
                        "created_at": now,
                    },
                ).scalar_one()
            )
        team_ids = {
            ws: [
                conn.execute(
                    insert(Team).returning(Team.id),
                    {
                        "workspace_id": ws,
                        "name": f"Team {t}",
                        "kind": "care",
                        "timezone": "UTC",
                        "business_hours": {},
                        "holidays": [],
                        "languages": [],
                        "guidelines": {},
                        "created_at": now,
                    },
                ).scalar_one()
                for t in range(5)
            ]
            for ws in ws_ids
        }
        pw = hash_password(PASSWORD)
        agent_rows = []
        for a in range(agents):
            ws = ws_ids[a % workspaces]
            agent_id = conn.execute(
                insert(Agent).returning(Agent.id),
                {
                    "email": f"agent{a}@bench.local",
                    "name": f"Agent {a}",
                    "password_hash": pw,
                    "role": "agent",
                    "languages": ["en"],
                    "channels": [],
                    "timezone": "UTC",
                    "ui_language": "en",
                    "capacity": 50,
                    "presence": "online",
                    "is_active": True,
                    "created_at": now,
                },
            ).scalar_one()
            conn.execute(
                insert(Membership), {"agent_id": agent_id, "workspace_id": ws, "role": "agent"}
            )
            team = team_ids[ws][a % 5]
            conn.execute(
                insert(TeamMember), {"team_id": team, "agent_id": agent_id, "is_backup": False}
            )
            agent_rows.append((agent_id, ws, f"agent{a}@bench.local"))
    by_ws: dict[int, list[int]] = {ws: [] for ws in ws_ids}
    for agent_id, ws, _ in agent_rows:
        by_ws[ws].append(agent_id)

    customers = max(1, n // 2)
    cust_ws = [ws_ids[i % workspaces] for i in range(customers)]
    with engine.begin() as conn:
        first_customer = None
        for lo in range(0, customers, BATCH):
            rows = [
                {
                    "workspace_id": cust_ws[i],
                    "display_name": f"Customer {i}",
                    "language": rng.choice(LANGS),
                    "vip": i % 97 == 0,
                    "tags": [],
                    "contact_details": {},
                    "notes": "",
                    "created_at": start,
                    "updated_at": start,
                }
                for i in range(lo, min(customers, lo + BATCH))
            ]
            conn.execute(insert(Customer), rows)
        first_customer = conn.execute(text("SELECT min(id) FROM customers")).scalar_one()

    conv_ids: dict[int, list[int]] = {ws: [] for ws in ws_ids}
    numbers = dict.fromkeys(ws_ids, 0)
    with engine.begin() as conn:
        for lo in range(0, n, BATCH):
            rows = []
            for _ in range(lo, min(n, lo + BATCH)):
                c = rng.randrange(customers)
                ws = cust_ws[c]
                numbers[ws] += 1
                at = start + timedelta(seconds=rng.randrange(365 * 86400))
                open_ = rng.random() < OPEN_SHARE
                status = rng.choice(OPEN) if open_ else "closed"
                rows.append(
                    {
                        "workspace_id": ws,
                        "number": numbers[ws],
                        "reference": f"B{ws_ids.index(ws)}-{numbers[ws]}",
                        "customer_id": first_customer + c,
                        "channel": rng.choice(CHANNELS),
                        "status": status,
                        "priority": rng.choice(PRIORITIES),
                        "kind": rng.choice(KINDS),
                        "language": rng.choice(LANGS),
                        "sentiment": rng.choice(("negative", "neutral", "positive")),
                        "needs_reply": open_,
                        "triage_reasons": [],
                        "team_id": rng.choice(team_ids[ws]),
                        "assignee_id": rng.choice(by_ws[ws]) if rng.random() < 0.7 else None,
                        "tags": [],
                        "message_count": 3,
                        "first_inbound_at": at,
                        "last_inbound_at": at + timedelta(minutes=40),
                        "last_message_at": at + timedelta(minutes=40),
                        "sla_state": {},
                        "sla_due_at": at + timedelta(hours=2) if open_ else None,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            conn.execute(insert(Conversation), rows)
        for cid, ws in conn.execute(text("SELECT id, workspace_id FROM conversations")):
            conv_ids[ws].append(cid)

    with engine.begin() as conn:
        all_convs = [(cid, ws) for ws, ids in conv_ids.items() for cid in ids]
        pending: list[dict[str, Any]] = []
        for cid, ws in all_convs:
            at = start + timedelta(seconds=(cid * 7919) % (365 * 86400))
            for k, direction in enumerate(("in", "out", "in")):
                pending.append(
                    {
                        "workspace_id": ws,
                        "conversation_id": cid,
                        "channel": "x",
                        "external_id": f"m{cid}-{k}",
                        "direction": direction,
                        "author_label": "Customer" if direction == "in" else "Agent",
                        "text": rng.choice(texts),
                        "thread_refs": [],
                        "triage": {},
                        "sent_state": "sent" if direction == "out" else None,
                        "created_at": at + timedelta(minutes=20 * k),
                        "received_at": at + timedelta(minutes=20 * k),
                    }
                )
            if len(pending) >= BATCH:
                conn.execute(insert(Message), pending)
                pending = []
        if pending:
            conn.execute(insert(Message), pending)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return {"agents": agent_rows, "conversations": conv_ids}


# --------------------------------------------------------------------------- the server


def serve(url: str, port: int) -> None:
    """Child process: the real app, wrapped to report its own time per request."""
    import uvicorn

    from caredesk.app import create_app
    from caredesk.config import Settings
    from caredesk.kit.clock import SystemClock
    from caredesk.kit.db import make_sessionmaker
    from caredesk.kit.runtime import Runtime, set_runtime

    settings = Settings(database_url=url, secret_key="bench-secret-key-123456")
    engine = make_engine(url)
    rt = Runtime(settings, engine, make_sessionmaker(engine), SystemClock())
    set_runtime(rt)
    app = create_app(rt)

    async def timed(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        began = time.perf_counter()

        async def send_timed(message: Any) -> None:
            if message["type"] == "http.response.start":
                ms = (time.perf_counter() - began) * 1000
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"server-timing", f"app;dur={ms:.2f}".encode()),
                ]
            await send(message)

        await app(scope, receive, send_timed)

    uvicorn.run(
        timed,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=120,  # agents pause between clicks; keep their connections
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


# --------------------------------------------------------------------------- the load


def server_ms(r: httpx.Response) -> float:
    m = re.search(r"dur=([\d.]+)", r.headers.get("server-timing", ""))
    return float(m.group(1)) if m else float("nan")


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    page = (await client.get("/login")).text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    if r.status_code != 303:
        raise SystemExit(f"sign-in failed for {email}: {r.status_code}")


async def agent_loop(
    client: httpx.AsyncClient,
    conversations: list[int],
    rounds: int,
    seed_: int,
    think: float,
    times: dict[str, list[float]],
    errors: list[str],
) -> None:
    rng = random.Random(seed_)
    for _ in range(rounds):
        for kind, path in (
            ("inbox", f"/inbox?queue={rng.choice(('open', 'mine', 'team', 'unassigned'))}"),
            ("conversation", f"/c/{rng.choice(conversations)}"),
            ("search", f"/inbox?queue=all&q={rng.choice(SEARCH_WORDS)}"),
        ):
            # People read before they click: think time keeps the load what 50 agents make.
            await asyncio.sleep(rng.expovariate(1 / think) if think else 0)
            try:
                r = await client.get(path)
            except httpx.TransportError as exc:
                errors.append(f"{path} -> {exc.__class__.__name__}")
                continue
            if r.status_code != 200:
                errors.append(f"{path} -> {r.status_code}")
                continue
            times[kind].append(server_ms(r))


async def load(
    base: str, world: dict[str, Any], agents: int, rounds: int, think: float
) -> tuple[dict[str, list[float]], list[str], float]:
    times: dict[str, list[float]] = {"inbox": [], "conversation": [], "search": []}
    errors: list[str] = []
    chosen = world["agents"][:agents]
    clients = [
        httpx.AsyncClient(base_url=base, timeout=120, follow_redirects=False) for _ in chosen
    ]
    try:
        # Sign in a few at a time: a password check is deliberately slow and is not what
        # this bench measures.
        for lo in range(0, len(chosen), 5):
            await asyncio.gather(
                *(
                    sign_in(c, email)
                    for c, (_, _, email) in zip(
                        clients[lo : lo + 5], chosen[lo : lo + 5], strict=True
                    )
                )
            )
        began = time.perf_counter()
        await asyncio.gather(
            *(
                agent_loop(c, world["conversations"][ws], rounds, i, think, times, errors)
                for i, (c, (_, ws, _)) in enumerate(zip(clients, chosen, strict=True))
            )
        )
        elapsed = time.perf_counter() - began
    finally:
        for c in clients:
            await c.aclose()
    return times, errors, elapsed


def page_weight(base: str, email: str) -> dict[str, Any]:
    """Bytes of the assets (CSS, JS, fonts, images) the inbox and a conversation load."""
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        html = client.get("/inbox").text
        refs = set(re.findall(r'<(?:link|script|img)[^>]+(?:href|src)="([^"]+)"', html))
        external = sorted(r for r in refs if urlparse(r).netloc)
        assets: dict[str, int] = {}
        queue = [r for r in refs if not urlparse(r).netloc and r.startswith("/static/")]
        while queue:
            ref = queue.pop()
            if ref in assets:
                continue
            r = client.get(ref)
            assets[ref] = len(r.content)
            if ref.endswith(".css"):
                for u in re.findall(r"url\(['\"]?([^'\")]+)['\"]?\)", r.text):
                    if urlparse(u).netloc:
                        external.append(u)
                    elif not u.startswith("data:"):
                        queue.append(urljoin(ref, u))
        return {
            "html_bytes": len(html.encode()),
            "asset_bytes": sum(assets.values()),
            "assets": assets,
            "external": external,
        }


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))], 1)


def run_db(label: str, url: str, n: int, agents: int, rounds: int, think: float) -> dict[str, Any]:
    upgrade(url)
    engine = make_engine(url)
    began = time.perf_counter()
    world = seed(engine, n, agents, random.Random(11))
    seeded = time.perf_counter() - began
    engine.dispose()
    print(f"{label}: seeded {n} conversations / {3 * n} messages in {seeded:.1f} s")
    proc, base = start_server(url)
    try:
        # A short warm-up so imports, caches and the connection pool are ready.
        asyncio.run(load(base, world, min(agents, 4), 1, 0))
        # One agent alone: what a page costs when nobody queues in front of it.
        solo, _, _ = asyncio.run(load(base, world, 1, 10, 0))
        times, errors, elapsed = asyncio.run(load(base, world, agents, rounds, think))
        weight = page_weight(base, world["agents"][0][2])
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    out: dict[str, Any] = {"seed_s": round(seeded, 1), "errors": len(errors)}
    total = sum(len(v) for v in times.values())
    out["requests_per_s"] = round(total / elapsed, 1)
    for kind, values in times.items():
        out[f"{kind}_p50_ms"] = pct(values, 0.5)
        out[f"{kind}_p95_ms"] = pct(values, 0.95)
        out[f"{kind}_mean_ms"] = round(statistics.fmean(values), 1) if values else None
    for kind, values in solo.items():
        out[f"solo_{kind}_p50_ms"] = pct(values, 0.5)
    out["page_html_bytes"] = weight["html_bytes"]
    out["asset_bytes"] = weight["asset_bytes"]
    out["external_requests"] = len(weight["external"])
    print(
        f"{label}: inbox p50/p95 {out['inbox_p50_ms']}/{out['inbox_p95_ms']} ms · "
        f"conversation {out['conversation_p50_ms']}/{out['conversation_p95_ms']} ms · "
        f"search {out['search_p50_ms']}/{out['search_p95_ms']} ms · "
        f"{out['requests_per_s']} req/s · {len(errors)} errors"
    )
    print(
        f"{label}: one agent alone, p50: inbox {out['solo_inbox_p50_ms']} ms · "
        f"conversation {out['solo_conversation_p50_ms']} ms · search {out['solo_search_p50_ms']} ms"
    )
    print(f"{label}: assets {weight['assets']} external={weight['external']}")
    if errors:
        print(f"{label}: first errors {errors[:5]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=50_000)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=12, help="loops of 3 pages per agent")
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds between clicks")
    ap.add_argument("--only", choices=("sqlite", "postgres"))
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    results: dict[str, Any] = {}
    if args.only in (None, "sqlite"):
        tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-web-"))
        results["sqlite"] = run_db(
            "sqlite",
            f"sqlite:///{tmp / 'web.db'}",
            args.conversations,
            args.agents,
            args.rounds,
            args.think,
        )
    if args.only in (None, "postgres"):
        admin = make_engine(PG_ADMIN)
        name = f"caredesk_bench_web_{uuid.uuid4().hex[:6]}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
            results["postgres"] = run_db(
                "postgres", url, args.conversations, args.agents, args.rounds, args.think
            )
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    line: dict[str, Any] = {
        "bench": "web",
        "conversations": args.conversations,
        "messages": 3 * args.conversations,
        "agents": args.agents,
        "think_s": args.think,
    }
    for db, r in results.items():
        for key in ("inbox_p95_ms", "conversation_p95_ms", "search_p95_ms"):
            line[f"{db}_{key}"] = r[key]
    line.update(results)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
