"""Benchmark the stream reader: posts/s from an X filtered-stream connection into the inbox.

A local HTTP server (another thread of this process) speaks X's filtered-stream format: one
JSON post per line (text from TWCS under ``--data``, default ../shared/data), a ``\\r\\n``
keep-alive every 100 lines, and ``--malformed`` bad lines mixed in; then it drops the
connection. Lines come in one burst (default) or at ``--rate`` per second (a realistic
trickle, for latency). The real :class:`caredesk.ingest.stream_runner.StreamRunner` reads it
and commits every post to a fresh SQLite inbox (or ``--url``) before reading on, exactly as in
production; processing jobs go to an unconsumed Huey queue so only intake is timed. The
connection's drop ends the run (the injected sleep stops the runner at its first reconnect).

Reports wall clock, CPU time of this process (reader + server + database work), posts/s and
p50/p99 of the time from the read that brought a post to its commit (posts decoded from one
read are committed together, before the next read). Afterwards the inbox is checked: every
post stored exactly once. Default 2,000 posts in a burst (~2 s here); ends with one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from caredesk.channels.accounts import do_add_account, do_set_secret
from caredesk.channels.x.stream import stream_targets
from caredesk.conversations.agents import do_create_workspace
from caredesk.ingest.repository import counter_total
from caredesk.ingest.stream_runner import StreamRunner
from caredesk.kit import jobs
from caredesk.kit.clock import SystemClock
from caredesk.kit.db import make_engine, unit_of_work
from caredesk.kit.migrate import upgrade
from caredesk.kit.runtime import make_sessionmaker
from caredesk.models import InboxItem


def load_texts(data: Path) -> list[str]:
    path = data / "twcs" / "twcs_random5000.csv"
    if not path.is_file():
        return [f"my acme router died again, day {i}" for i in range(1000)]
    with path.open(newline="", encoding="utf-8") as fh:
        return [row["text"] for row in csv.DictReader(fh) if row["inbound"] == "True"]


def stream_lines(texts: list[str], posts: int, malformed: int) -> list[bytes]:
    lines: list[bytes] = []
    bad_every = posts // malformed if malformed else 0
    for i in range(posts):
        payload = {
            "data": {
                "id": str(1_900_000_000_000_000_000 + i),
                "text": texts[i % len(texts)],
                "author_id": str(10_000 + i % 997),
                "created_at": "2026-11-20T10:00:00.000Z",
                "lang": "en",
            },
            "includes": {"users": [{"id": str(10_000 + i % 997), "username": f"user{i % 997}"}]},
            "matching_rules": [{"id": "1273028376882589696", "tag": "brand"}],
        }
        lines.append(json.dumps(payload).encode() + b"\r\n")
        if i % 100 == 99:
            lines.append(b"\r\n")
        if bad_every and i % bad_every == bad_every - 1:
            lines.append(b'{"data": {"id": broken\r\n')
    return lines


def serve(lines: list[bytes], rate: float) -> ThreadingHTTPServer:
    body = b"".join(lines)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if rate <= 0:  # a burst: as fast as the reader takes it
                for lo in range(0, len(body), 16384):
                    self.wfile.write(body[lo : lo + 16384])
                return
            start = time.perf_counter()
            for i, line in enumerate(lines):  # a steady trickle of `rate` lines per second
                pause = start + i / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                self.wfile.write(line)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--malformed", type=int, default=10, help="bad lines mixed in")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument(
        "--rate", type=float, default=0, help="lines per second (0: one burst, the default)"
    )
    parser.add_argument("--url", default="", help="database URL (default: fresh SQLite file)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-stream-"))
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    jobs.configure(jobs.make_huey("", str(tmp / "jobs.db")))
    clock = SystemClock()
    lines = stream_lines(load_texts(args.data), args.posts, args.malformed)
    body_bytes = sum(len(line) for line in lines)
    server = serve(lines, args.rate)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with unit_of_work(sessions) as session:
        ws = do_create_workspace(session, clock, f"Bench {os.getpid()}")
        acct = do_add_account(
            session, clock, ws, kind="x", handle=f"bench{os.getpid()}",
            config={"api_base_url": base, "stream": True, "polling": False},
        )  # fmt: skip
        do_set_secret(session, clock, acct, "bearer_token", "bench-token")
        account_id = acct.id
    (target,) = stream_targets({"api_base_url": base, "bearer_token": "bench-token"})

    latencies: list[float] = []
    decoded_at: list[float] = []

    class TimedDecoder:
        def __init__(self) -> None:
            self.inner = target.decoder()

        def feed(self, chunk: bytes) -> list[Any]:
            frames = self.inner.feed(chunk)
            decoded_at.append(time.perf_counter())
            return frames

    class TimedTarget:
        def __getattr__(self, name: str) -> Any:
            return getattr(target, name)

        def decoder(self) -> TimedDecoder:
            return TimedDecoder()

    runner: StreamRunner

    commits: list[int] = []

    def on_stored(posts: Any) -> None:
        # From the read that brought a post (decoded) to its commit, for each post.
        now = time.perf_counter()
        latencies.extend([now - decoded_at[-1]] * len(posts))
        commits.append(len(posts))

    def stop_at_reconnect(_delay: float) -> None:
        runner.stop_event.set()

    runner = StreamRunner(
        sessions, clock, account_id, "x", TimedTarget(),  # type: ignore[arg-type]
        sleep=stop_at_reconnect, on_stored=on_stored,
    )  # fmt: skip
    wall0, cpu0 = time.perf_counter(), time.process_time()
    runner.run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    server.shutdown()

    with unit_of_work(sessions) as session:
        stored = session.execute(
            select(func.count(), func.count(func.distinct(InboxItem.external_id))).where(
                InboxItem.channel_account_id == account_id
            )
        ).one()
        rejected = counter_total(session, "inbox.rejected.x.malformed")
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    ok = stored[0] == stored[1] == args.posts and runner.stats.rejected == args.malformed
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000 if ordered else 0.0
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else 0.0
    print(
        f"posts {args.posts} (+{args.malformed} malformed lines, {body_bytes} bytes, "
        f"rate {args.rate or 'burst'}) on {url}"
    )
    print(f"wall {wall:.2f}s  cpu {cpu:.2f}s  {args.posts / wall:.0f} posts/s")
    print(f"read->commit p50 {p50:.2f} ms  p99 {p99:.2f} ms; {len(commits)} transactions")
    print(f"inbox rows {stored[0]} distinct {stored[1]}  rejected counted {rejected}  ok={ok}")
    print(
        json.dumps(
            {
                "bench": "stream",
                "posts": args.posts,
                "rate": args.rate or "burst",
                "database": url.split(":", 1)[0],
                "posts_per_s": round(args.posts / wall, 1),
                "cpu_s": round(cpu, 2),
                "wall_s": round(wall, 2),
                "p50_ms": round(p50, 2),
                "p99_ms": round(p99, 2),
                "transactions": len(commits),
                "stored_once": ok,
                "load_1min": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
