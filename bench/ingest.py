"""Benchmark webhook -> committed inbox row: posts/s and p50/p99 latency, SQLite and PostgreSQL.

The real ASGI app runs under uvicorn in a thread; an httpx client (``--concurrency`` threads, one
connection each) POSTs signed deliveries over loopback HTTP, alternating the generic JSON format
and X Account Activity ``tweet_create_events``. Post text comes from TWCS
(``twcs/twcs_random5000.csv`` under ``--data``, default ../shared/data). Every delivery is
answered only after its inbox rows are committed (and the processing jobs enqueued on Huey's
SQLite storage, as in the embedded setup); nothing consumes the jobs, so only ingest is timed.

Two runs per database: single-post deliveries (the latency figures) and ``--batch`` posts per
delivery (as X and Meta batch events). PostgreSQL uses a fresh database that is dropped after.
Default size (2,000 single + 200 x 25 batched deliveries per database) runs in about a minute.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select, text

from caredesk.app import create_app
from caredesk.channels.signing import hmac_sha256_hex
from caredesk.channels.x.adapter import webhook_signature
from caredesk.config import Settings
from caredesk.conversations.agents import do_create_account, do_create_workspace
from caredesk.kit import jobs
from caredesk.kit.clock import SystemClock
from caredesk.kit.db import make_engine, unit_of_work
from caredesk.kit.migrate import upgrade
from caredesk.kit.runtime import build_runtime, set_runtime
from caredesk.models import InboxItem

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GENERIC_SECRET = "bench-generic-secret"
X_SECRET = "bench-x-consumer-secret"

Delivery = tuple[str, bytes, dict[str, str], int]  # path, body, headers, posts in it


def load_texts(data: Path) -> list[str]:
    path = data / "twcs" / "twcs_random5000.csv"
    if not path.is_file():
        sys.exit(f"bench/ingest.py: missing {path} (pass --data DIR holding twcs/)")
    with path.open(newline="", encoding="utf-8") as fh:
        return [row["text"] for row in csv.DictReader(fh) if row["inbound"] == "True"]


def _generic(ids: list[str], texts: list[str], token: str) -> Delivery:
    posts = [
        {
            "id": pid,
            "text": t,
            "author": {"id": f"u{pid}", "handle": f"user{pid}", "followers": 10},
            "created_at": "2026-11-20T10:00:00Z",
        }
        for pid, t in zip(ids, texts, strict=True)
    ]
    body = json.dumps(posts[0] if len(posts) == 1 else {"posts": posts}).encode()
    headers = {
        "content-type": "application/json",
        "x-caredesk-signature": "sha256=" + hmac_sha256_hex(GENERIC_SECRET, body),
    }
    return f"/hooks/generic/{token}", body, headers, len(posts)


def _x(ids: list[str], texts: list[str], token: str) -> Delivery:
    events = [
        {
            "created_at": "Wed Oct 10 20:19:24 +0000 2018",
            "id_str": pid,
            "text": t,
            "user": {"id_str": f"9{pid}", "screen_name": f"user{pid}", "followers_count": 10},
        }
        for pid, t in zip(ids, texts, strict=True)
    ]
    body = json.dumps({"for_user_id": "2244994945", "tweet_create_events": events}).encode()
    headers = {
        "content-type": "application/json",
        "x-twitter-webhooks-signature": webhook_signature(X_SECRET, body),
    }
    return f"/hooks/x/{token}", body, headers, len(events)


def make_deliveries(
    texts: list[str], count: int, batch: int, tokens: dict[str, str], tag: str
) -> list[Delivery]:
    out: list[Delivery] = []
    n = 0
    for i in range(count):
        ids = [f"{tag}{n + j}" for j in range(batch)]
        chunk = [texts[(n + j) % len(texts)] for j in range(batch)]
        n += batch
        build: Callable[..., Delivery] = _generic if i % 2 == 0 else _x
        out.append(build(ids, chunk, tokens["generic" if i % 2 == 0 else "x"]))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fire(base: str, deliveries: list[Delivery], concurrency: int) -> dict[str, float]:
    """Send every delivery (split over ``concurrency`` connections); wall-clock rate and
    per-delivery latency percentiles."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(part: list[Delivery]) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for path, body, headers, _n in part:
                t0 = time.perf_counter()
                r = client.post(path, content=body, headers=headers)
                mine.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    with lock:
                        errors.append(f"{r.status_code} {r.text[:200]}")
        with lock:
            latencies.extend(mine)

    parts = [deliveries[i::concurrency] for i in range(concurrency)]
    threads = [threading.Thread(target=worker, args=(p,)) for p in parts]
    began, cpu_began = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu_began  # server and client threads: one process
    if errors:
        sys.exit(f"bench/ingest.py: {len(errors)} deliveries failed, e.g. {errors[0]}")
    latencies.sort()
    posts = sum(d[3] for d in deliveries)
    return {
        "posts": posts,
        "deliveries": len(deliveries),
        "posts_per_s": round(posts / elapsed, 1),
        # On a shared machine wall-clock rates depend on the neighbours; CPU time does not.
        "cpu_ms_per_post": round(cpu / posts * 1000, 3),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
    }


def run(url: str, work: Path, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    upgrade(url)
    settings = Settings(
        database_url=url,
        jobs_path=str(work / f"jobs-{uuid.uuid4().hex[:6]}.db"),
        secret_key="bench-secret-key",
        max_webhook_bytes=5_000_000,
    )
    jobs.configure(jobs.make_huey("", settings.jobs_path))
    rt = build_runtime(settings, SystemClock())
    set_runtime(rt)
    with unit_of_work(rt.sessions) as session:
        ws = do_create_workspace(session, rt.clock, f"Bench {uuid.uuid4().hex[:6]}")
        generic = do_create_account(
            session, rt.clock, ws, kind="generic", handle="benchcare",
            secrets={"webhook_secret": GENERIC_SECRET},
        )  # fmt: skip
        x = do_create_account(
            session, rt.clock, ws, kind="x", handle="AcmeCare", external_id="2244994945",
            config={"user_id": "2244994945"}, secrets={"consumer_secret": X_SECRET},
        )  # fmt: skip
        tokens = {"generic": generic.webhook_token, "x": x.webhook_token}
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(rt), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    try:
        warm = make_deliveries(texts, 50, 1, tokens, "w")
        fire(base, warm, args.concurrency)
        single = fire(base, make_deliveries(texts, args.single, 1, tokens, "s"), args.concurrency)
        batched = fire(
            base,
            make_deliveries(texts, args.batches, args.batch, tokens, "b"),
            args.concurrency,
        )
        again = fire(base, make_deliveries(texts, 200, 1, tokens, "s"), args.concurrency)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    with unit_of_work(rt.sessions) as session:
        rows = session.execute(select(func.count()).select_from(InboxItem)).scalar_one()
    expected = 50 + args.single + args.batches * args.batch
    if rows != expected:
        sys.exit(f"bench/ingest.py: {rows} inbox rows, expected {expected}")
    rt.engine.dispose()
    set_runtime(None)
    return {
        "single": single,
        "batched": {**batched, "batch": args.batch},
        "duplicates_resent": again,
        "inbox_rows": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--single", type=int, default=2_000, help="single-post deliveries")
    ap.add_argument("--batches", type=int, default=200, help="batched deliveries")
    ap.add_argument("--batch", type=int, default=25, help="posts per batched delivery")
    ap.add_argument("--concurrency", type=int, default=4, help="client connections")
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    texts = load_texts(args.data)
    work = Path(tempfile.mkdtemp(prefix="caredesk-bench-ingest-"))
    sqlite = run(f"sqlite:///{work / 'bench.db'}", work, texts, args)
    print(f"sqlite:   {json.dumps(sqlite)}")
    pg: dict[str, Any] | None = None
    if not args.skip_postgres:
        admin = make_engine(PG_ADMIN)
        name = f"caredesk_bench_ingest_{uuid.uuid4().hex[:6]}"
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            pg = run(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", work, texts, args)
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        print(f"postgres: {json.dumps(pg)}")
    result: dict[str, Any] = {
        "bench": "ingest",
        "concurrency": args.concurrency,
        "sqlite_posts_per_s": sqlite["single"]["posts_per_s"],
        "sqlite_p50_ms": sqlite["single"]["p50_ms"],
        "sqlite_p99_ms": sqlite["single"]["p99_ms"],
        "sqlite_batched_posts_per_s": sqlite["batched"]["posts_per_s"],
        "sqlite_batched_p99_ms": sqlite["batched"]["p99_ms"],
        "sqlite_cpu_ms_per_post": sqlite["single"]["cpu_ms_per_post"],
        "sqlite_batched_cpu_ms_per_post": sqlite["batched"]["cpu_ms_per_post"],
    }
    if pg is not None:
        result.update(
            postgres_posts_per_s=pg["single"]["posts_per_s"],
            postgres_p50_ms=pg["single"]["p50_ms"],
            postgres_p99_ms=pg["single"]["p99_ms"],
            postgres_batched_posts_per_s=pg["batched"]["posts_per_s"],
            postgres_batched_p99_ms=pg["batched"]["p99_ms"],
            postgres_cpu_ms_per_post=pg["single"]["cpu_ms_per_post"],
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
