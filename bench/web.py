"""Web desk under load: inbox, conversation page and full-text search on SQLite and PostgreSQL.

Seeds N conversations and 3N messages (bench/web_seed.py: bulk executemany / COPY, real demo
post texts plus an order number per conversation) into a SQLite file under var/bench/ and a
PostgreSQL database, serves the real app with uvicorn in a child process with ``--workers``
processes (2 by default, as ``caredesk serve --workers 2``), and lets 50 simulated agents
(httpx, async, each signed in as themselves) loop over: an inbox queue (all eight), a
conversation page of their workspace, and a text search (a common word, its prefix as typed,
or an order number). Server time is measured inside the server (an ASGI wrapper that adds
``Server-Timing``), so client-side queueing does not count. Also prints the page weight of the
assets a page loads and whether any is external.

Usage: python bench/web.py [--conversations 50000] [--agents 50] [--rounds 12] [--think 1.0]
       [--only sqlite|postgres] [--workers 2] [--reuse]
The issue's size is --conversations 1000000 (3,000,000 messages): seeding that takes minutes,
so pass --reuse to keep the seeded databases (keyed by size, agents and migration head) and
skip seeding on the next run. The default (50,000 / 150,000) runs in a few minutes here.
About 5% of conversations are open, mostly the newest, as on a desk with a long history.
Ends with one JSON line (with the 1-minute load average at the end of the run).
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
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
from sqlalchemy import Engine, text
from web_seed import PASSWORD, order_word, seed  # bench/ is on sys.path when run as a script

from caredesk.kit.db import make_engine
from caredesk.kit.migrate import upgrade

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SEARCH_WORDS = ("router", "refund", "wifi", "order", "broken", "delivery", "bill", "app")
BENCH_DIR = Path(__file__).resolve().parents[1] / "var" / "bench"
SERVER_WORKERS = 2


# --------------------------------------------------------------------------- seeding


def schema_key() -> str:
    """The migration head and a digest of the migration files: a cached database seeded under
    another schema (or an edited migration) is not reused."""
    import hashlib

    from alembic.script import ScriptDirectory

    from caredesk.kit.migrate import alembic_config

    head = str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())
    versions = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    digest = hashlib.sha1()
    for path in sorted(versions.glob("*.py")):
        digest.update(path.read_bytes())
    return f"{head[:8]}{digest.hexdigest()[:6]}"


def world_of(engine: Engine) -> dict[str, Any]:
    """Who signs in and which conversations they open, read back from a seeded database."""
    with engine.connect() as conn:
        agents = [
            (a, ws, email)
            for a, ws, email in conn.execute(
                text(
                    "SELECT a.id, m.workspace_id, a.email FROM agents a"
                    " JOIN memberships m ON m.agent_id = a.id ORDER BY a.id"
                )
            )
        ]
        convs: dict[int, list[int]] = {}
        for cid, ws in conn.execute(text("SELECT id, workspace_id FROM conversations")):
            convs.setdefault(ws, []).append(cid)
    return {"agents": agents, "conversations": convs}


def prepare(
    label: str, url: str, n: int, agents: int, reuse: bool
) -> tuple[str, float | None, list[str]]:
    """A migrated, seeded database for size ``n``; returns its URL, the seeding time (None when
    a cached one was reused) and what to drop afterwards."""
    key = f"{n}_{agents}_{schema_key()}"
    if label == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = BENCH_DIR / f"web_{key}.db"
        if reuse and path.exists():
            return f"sqlite:///{path}", None, []
        building = path.with_suffix(".building")
        for p in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
            p.unlink(missing_ok=True)
        upgrade(f"sqlite:///{building}")
        began = time.perf_counter()
        seed(str(building), "sqlite", n, agents, random.Random(11))
        took = time.perf_counter() - began
        building.rename(path)  # only a finished seed carries the final name
        return f"sqlite:///{path}", took, [] if reuse else [str(path)]
    name = f"caredesk_bench_web_{key}"
    admin = make_engine(PG_ADMIN)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if reuse and exists:
            admin.dispose()
            return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", None, []
        for db in (name, f"{name}_building"):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}_building"'))
    building = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}_building"
    upgrade(building)
    began = time.perf_counter()
    seed(building.replace("+psycopg", ""), "postgresql", n, agents, random.Random(11))
    took = time.perf_counter() - began
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'ALTER DATABASE "{name}_building" RENAME TO "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", took, [] if reuse else [name]


# --------------------------------------------------------------------------- the server


def timed_app() -> Any:
    """uvicorn factory (one call per worker process): the real app, wrapped to report its own
    time per request in ``Server-Timing``. The database URL comes in CAREDESK_DATABASE_URL."""
    from caredesk.app import create_app
    from caredesk.config import Settings
    from caredesk.kit.clock import SystemClock
    from caredesk.kit.db import make_sessionmaker
    from caredesk.kit.runtime import Runtime, set_runtime

    url = os.environ["CAREDESK_DATABASE_URL"]
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

    return timed


def serve(port: int, workers: int) -> None:
    """Child process: uvicorn with ``workers`` processes, as ``caredesk serve --workers``."""
    import uvicorn

    uvicorn.run(
        "web:timed_app",
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        host="127.0.0.1",
        port=port,
        workers=workers,
        http="auto",  # httptools and uvloop when installed, as `caredesk serve` does
        loop="auto",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=120,  # agents pause between clicks; keep their connections
    )


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its child processes (the uvicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, ... utime (12th), stime (13th).
        if entry.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "CAREDESK_DATABASE_URL": url,
    }
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--port", str(port), "--workers", str(workers)],
        env=env,
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


QUEUE_MIX = (
    "open",
    "mine",
    "mine",
    "team",
    "team",
    "unassigned",
    "sales",
    "breaching",
    "followups",
    "all",
)


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
        # Searches: a common word (thousands of hits), its prefix as typed, or an order
        # number from a customer's message (one hit: the needle agents really look for).
        roll = rng.random()
        word = rng.choice(SEARCH_WORDS)
        if roll < 0.4:
            q = word
        elif roll < 0.6:
            q = word[:4]
        else:
            q = order_word(rng.choice(conversations))
        for kind, path in (
            ("inbox", f"/inbox?queue={rng.choice(QUEUE_MIX)}"),
            ("conversation", f"/c/{rng.choice(conversations)}"),
            ("search", f"/inbox?queue=all&q={q}"),
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


def run_db(
    label: str, n: int, agents: int, rounds: int, think: float, reuse: bool, workers: int
) -> dict[str, Any]:
    url, seeded, drop = prepare(label, PG_ADMIN if label == "postgres" else "", n, agents, reuse)
    if seeded is None:
        print(f"{label}: reused the seeded database for {n} conversations ({url})")
    else:
        print(f"{label}: seeded {n} conversations / {3 * n} messages in {seeded:.1f} s")
    engine = make_engine(url)
    world = world_of(engine)
    engine.dispose()
    proc, base = start_server(url, workers)
    try:
        # A short warm-up so imports, caches and the connection pool are ready.
        asyncio.run(load(base, world, min(agents, 4), 1, 0))
        # One agent alone: what a page costs when nobody queues in front of it.
        solo, _, _ = asyncio.run(load(base, world, 1, 10, 0))
        cpu_before = server_cpu_s(proc.pid)
        times, errors, elapsed = asyncio.run(load(base, world, agents, rounds, think))
        cpu_used = server_cpu_s(proc.pid) - cpu_before
        weight = page_weight(base, world["agents"][0][2])
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for name in drop:
            if label == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(name + suffix).unlink(missing_ok=True)
            else:
                admin = make_engine(PG_ADMIN)
                with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    out: dict[str, Any] = {
        "seed_s": None if seeded is None else round(seeded, 1),
        "server_workers": workers,
        "errors": len(errors),
    }
    total = sum(len(v) for v in times.values())
    out["requests_per_s"] = round(total / elapsed, 1)
    # CPU the server processes (not the database server) spent per request under load: what
    # a page costs in Python, whatever else the machine was doing.
    out["server_cpu_ms_per_request"] = round(1000 * cpu_used / max(1, total), 1)
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
        f"{out['requests_per_s']} req/s · {len(errors)} errors · "
        f"server CPU {out['server_cpu_ms_per_request']} ms/request"
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
    ap.add_argument("--workers", type=int, default=SERVER_WORKERS, help="uvicorn processes")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep the seeded databases (var/bench/, caredesk_bench_web_*) keyed by size and "
        "schema, and reuse them on the next run instead of seeding again",
    )
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.port, args.workers)
        return
    results: dict[str, Any] = {}
    for label in ("sqlite", "postgres"):
        if args.only in (None, label):
            results[label] = run_db(
                label,
                args.conversations,
                args.agents,
                args.rounds,
                args.think,
                args.reuse,
                args.workers,
            )
    line: dict[str, Any] = {
        "bench": "web",
        "conversations": args.conversations,
        "messages": 3 * args.conversations,
        "agents": args.agents,
        "think_s": args.think,
        "server_workers": args.workers,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    for db, r in results.items():
        for key in ("inbox_p95_ms", "conversation_p95_ms", "search_p95_ms"):
            line[f"{db}_{key}"] = r[key]
    line.update(results)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
