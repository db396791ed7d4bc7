"""Benchmark webhook -> committed inbox row: posts/s and p50/p99 latency, SQLite and PostgreSQL.

The server is the real thing in its own process: ``caredesk serve --no-jobs`` (uvicorn with
httptools and uvloop, ``--workers`` processes). The load generator is this process: raw asyncio
streams over keep-alive loopback connections, ``--concurrency`` deliveries in flight, each
timed from the first byte sent to the last byte of its answer. Deliveries alternate the generic
JSON format and X Account Activity ``tweet_create_events``, signed; post text comes from TWCS
(``twcs/twcs_random5000.csv`` under ``--data``, default ../shared/data). Every delivery is
answered only after its inbox rows are committed (processing jobs are enqueued on Huey's SQLite
storage as in the embedded setup, but nothing consumes them: only ingest is timed).

Runs per database: single-post deliveries with ``--concurrency`` always in flight (throughput at
saturation: ``*_posts_per_s``), ``--batch`` posts per delivery (as X and Meta batch events), the
single posts sent again (all duplicates), and an open-loop run offering ``--rate`` single-post
deliveries per second, each timed from when it was due (latency at that rate: ``*_p50_ms``,
``*_p99_ms``; if the server cannot keep up, the queue shows in them). CPU is reported separately
for the server processes and the client. Afterwards the inbox and its counters are checked
against what was sent. PostgreSQL uses a fresh database, dropped after. Default size (5,000
single, 200 x 25 batched, 5,000 resent and 5,000 paced deliveries per database) takes about a
minute. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from caredesk.channels.signing import hmac_sha256_hex
from caredesk.channels.x.adapter import webhook_signature
from caredesk.config import Settings, get_settings
from caredesk.conversations.agents import do_create_account, do_create_workspace
from caredesk.ingest.repository import counter_total
from caredesk.kit.clock import SystemClock
from caredesk.kit.db import make_engine, unit_of_work
from caredesk.kit.migrate import upgrade
from caredesk.kit.runtime import build_runtime
from caredesk.models import InboxItem

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GENERIC_SECRET = "bench-generic-secret"
X_SECRET = "bench-x-consumer-secret"

SECRET_KEY = "bench-secret-key"
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


def _request(port: int, delivery: Delivery) -> bytes:
    path, body, headers, _n = delivery
    lines = [f"POST {path} HTTP/1.1", f"host: 127.0.0.1:{port}", f"content-length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: bytes,
    t0: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    """Send one request and read its answer; latency counts from ``t0``."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    answer = await reader.readexactly(length)
    latencies.append(time.perf_counter() - t0)
    if head[9:12] != b"200":
        errors.append(f"{head[9:12].decode()} {answer[:200]!r}")


async def _connection(
    port: int, todo: deque[tuple[bytes, int]], latencies: list[float], errors: list[str]
) -> None:
    """One keep-alive connection sending deliveries one after the other."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while todo:
            request, _n = todo.popleft()
            await _exchange(reader, writer, request, time.perf_counter(), latencies, errors)
    finally:
        writer.close()


async def _paced(
    port: int, requests: list[tuple[bytes, int]], rate: float, connections: int
) -> tuple[list[float], list[str]]:
    """Open loop: delivery i is due at i/rate seconds whatever the answers so far; its latency
    runs from when it was due (so a stalled server is not hidden by a waiting client)."""
    due: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors: list[str] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (item := await due.get()) is not None:
                await _exchange(reader, writer, item[1], item[0], latencies, errors)
        finally:
            writer.close()

    tasks = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(0.05)  # connections open
    start = time.perf_counter()
    for i, (request, _n) in enumerate(requests):
        at = start + i / rate
        wait = at - time.perf_counter()
        if wait > 0.0005:
            await asyncio.sleep(wait)
        due.put_nowait((at, request))
    for _ in tasks:
        due.put_nowait(None)
    await asyncio.gather(*tasks)
    return latencies, errors


def paced(
    port: int, server_pid: int, deliveries: list[Delivery], rate: float, connections: int
) -> dict[str, Any]:
    """Latency at a fixed offered rate (the goal's "p99 at 2,000 posts/s")."""
    requests = [(_request(port, d), d[3]) for d in deliveries]
    server_cpu = _cpu_seconds(server_pid)
    began = time.perf_counter()
    latencies, errors = _run(_paced(port, requests, rate, connections))
    elapsed = time.perf_counter() - began
    server_cpu = _cpu_seconds(server_pid) - server_cpu
    if errors:
        sys.exit(f"bench/ingest.py: {len(errors)} deliveries failed, e.g. {errors[0]}")
    latencies.sort()
    posts = sum(d[3] for d in deliveries)
    return {
        "posts": posts,
        "offered_posts_per_s": rate,
        "achieved_posts_per_s": round(posts / elapsed, 1),
        "server_cpu_ms_per_post": round(server_cpu / posts * 1000, 3),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (uvicorn workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def fire(
    port: int, server_pid: int, deliveries: list[Delivery], concurrency: int
) -> dict[str, Any]:
    """Send every delivery with ``concurrency`` in flight; rate, latency percentiles, CPU."""
    todo = deque((_request(port, d), d[3]) for d in deliveries)
    latencies: list[float] = []
    errors: list[str] = []

    async def go() -> None:
        await asyncio.gather(
            *(_connection(port, todo, latencies, errors) for _ in range(concurrency))
        )

    server_cpu = _cpu_seconds(server_pid)
    began, cpu_began = time.perf_counter(), time.process_time()
    _run(go())
    elapsed = time.perf_counter() - began
    client_cpu = time.process_time() - cpu_began
    server_cpu = _cpu_seconds(server_pid) - server_cpu
    if errors:
        sys.exit(f"bench/ingest.py: {len(errors)} deliveries failed, e.g. {errors[0]}")
    latencies.sort()
    posts = sum(d[3] for d in deliveries)
    return {
        "posts": posts,
        "deliveries": len(deliveries),
        "posts_per_s": round(posts / elapsed, 1),
        # On a shared machine wall-clock rates depend on the neighbours; CPU time does not.
        "server_cpu_ms_per_post": round(server_cpu / posts * 1000, 3),
        "client_cpu_ms_per_post": round(client_cpu / posts * 1000, 3),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
    }


def _run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def start_server(
    url: str, work: Path, args: argparse.Namespace
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "CAREDESK_DATABASE_URL": url,
        "CAREDESK_JOBS_PATH": str(work / f"jobs-{uuid.uuid4().hex[:6]}.db"),
        "CAREDESK_REDIS_URL": "",
        "CAREDESK_SECRET_KEY": SECRET_KEY,
        "CAREDESK_MAX_WEBHOOK_BYTES": "5000000",
        "CAREDESK_LOG_LEVEL": "warning",
    }
    cmd = [sys.executable, "-m", "caredesk.cli", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--no-jobs", "--workers", str(args.workers)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"bench/ingest.py: the server exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, port
        except OSError:
            time.sleep(0.1)
    server.kill()
    sys.exit("bench/ingest.py: the server did not start within 60 s")


def run(url: str, work: Path, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    upgrade(url)
    rt = build_runtime(Settings(database_url=url, secret_key=SECRET_KEY), SystemClock())
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
    server, port = start_server(url, work, args)
    pid, c = server.pid, args.concurrency
    try:
        fire(port, pid, make_deliveries(texts, 200, 1, tokens, "w"), c)  # warm up
        single = fire(port, pid, make_deliveries(texts, args.single, 1, tokens, "s"), c)
        batched = fire(port, pid, make_deliveries(texts, args.batches, args.batch, tokens, "b"), c)
        again = fire(port, pid, make_deliveries(texts, args.single, 1, tokens, "s"), c)
        at_rate = paced(
            port, pid, make_deliveries(texts, args.single, 1, tokens, "r"), args.rate, 64
        )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    # The figures count only if every post is in the inbox exactly once and counted.
    with unit_of_work(rt.sessions) as session:
        rows = session.execute(select(func.count()).select_from(InboxItem)).scalar_one()
        received = counter_total(session, "inbox.received")
        dups = sum(counter_total(session, f"inbox.duplicates.{k}") for k in ("generic", "x"))
        marked = session.execute(select(func.sum(InboxItem.duplicates))).scalar_one()
    expected = 200 + 2 * args.single + args.batches * args.batch
    if (rows, received, dups, marked) != (expected, expected, args.single, args.single):
        sys.exit(
            f"bench/ingest.py: inbox rows/received/duplicates/marked = {rows}/{received}/{dups}/"
            f"{marked}, expected {expected}/{expected}/{args.single}/{args.single}"
        )
    rt.engine.dispose()
    return {
        "single": single,
        "batched": {**batched, "batch": args.batch},
        "duplicates_resent": again,
        "paced": at_rate,
        "inbox_rows": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--single", type=int, default=5_000, help="single-post deliveries")
    ap.add_argument("--batches", type=int, default=200, help="batched deliveries")
    ap.add_argument("--batch", type=int, default=25, help="posts per batched delivery")
    ap.add_argument("--concurrency", type=int, default=32, help="deliveries in flight")
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument(
        "--rate", type=float, default=2_000, help="offered posts/s of the paced (latency) run"
    )
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    # The server seals and unseals account secrets with this key: both processes must agree.
    os.environ["CAREDESK_SECRET_KEY"] = SECRET_KEY
    os.environ.pop("CAREDESK_SECRETS_KEY", None)
    get_settings.cache_clear()
    texts = load_texts(args.data)
    work = Path(tempfile.mkdtemp(prefix="caredesk-bench-ingest-"))
    load_before = os.getloadavg()[0]
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
        "workers": args.workers,
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "rate": args.rate,
        # Throughput: closed loop, --concurrency deliveries always in flight (saturation).
        "sqlite_posts_per_s": sqlite["single"]["posts_per_s"],
        "sqlite_server_cpu_ms_per_post": sqlite["single"]["server_cpu_ms_per_post"],
        "sqlite_saturated_p50_ms": sqlite["single"]["p50_ms"],
        "sqlite_saturated_p99_ms": sqlite["single"]["p99_ms"],
        # Latency: open loop at --rate single-post deliveries per second.
        "sqlite_p50_ms": sqlite["paced"]["p50_ms"],
        "sqlite_p99_ms": sqlite["paced"]["p99_ms"],
        "sqlite_paced_achieved_posts_per_s": sqlite["paced"]["achieved_posts_per_s"],
        "sqlite_batched_posts_per_s": sqlite["batched"]["posts_per_s"],
        "sqlite_batched_p99_ms": sqlite["batched"]["p99_ms"],
        "sqlite_duplicates_posts_per_s": sqlite["duplicates_resent"]["posts_per_s"],
    }
    if pg is not None:
        result.update(
            postgres_posts_per_s=pg["single"]["posts_per_s"],
            postgres_server_cpu_ms_per_post=pg["single"]["server_cpu_ms_per_post"],
            postgres_saturated_p99_ms=pg["single"]["p99_ms"],
            postgres_p50_ms=pg["paced"]["p50_ms"],
            postgres_p99_ms=pg["paced"]["p99_ms"],
            postgres_paced_achieved_posts_per_s=pg["paced"]["achieved_posts_per_s"],
            postgres_batched_posts_per_s=pg["batched"]["posts_per_s"],
            postgres_batched_p99_ms=pg["batched"]["p99_ms"],
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
