"""Import throughput of `caredesk import --format twcs` on SQLite and PostgreSQL.

Builds a large TWCS-format file by resampling the real sample in ../shared/data/twcs (threads of
1-4 tweets, customers drawn from a pool so some return, brands from the real handles), imports it
into a fresh SQLite file and a fresh PostgreSQL database, and prints posts/s and peak memory.
Usage: python bench/import_twcs.py [--rows 200000] [--data ../shared/data] [--triage]
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from caredesk.importers.twcs import import_twcs
from caredesk.kit.clock import SystemClock
from caredesk.kit.db import make_engine, make_sessionmaker
from caredesk.kit.migrate import upgrade

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def build_file(source: Path, rows: int, out: Path, seed: int = 7) -> int:
    rng = random.Random(seed)
    with source.open(encoding="utf-8", newline="") as fh:
        real = list(csv.DictReader(fh))
    inbound = [r["text"] for r in real if r["inbound"] == "True"]
    replies = [(r["author_id"], r["text"]) for r in real if r["inbound"] == "False"]
    customers = [f"{900000 + i}" for i in range(max(1000, rows // 4))]
    start = datetime(2017, 1, 1, tzinfo=UTC)
    next_id = 10_000_000
    written = 0
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "tweet_id",
                "author_id",
                "inbound",
                "created_at",
                "text",
                "response_tweet_id",
                "in_response_to_tweet_id",
            ]
        )
        while written < rows:
            customer = rng.choice(customers)
            brand, _ = rng.choice(replies)
            at = start + timedelta(seconds=rng.randrange(365 * 86400))
            parent = ""
            for turn in range(min(rng.choice([1, 2, 2, 3, 4]), rows - written)):
                next_id += 1
                is_in = turn % 2 == 0
                body = rng.choice(inbound) if is_in else rng.choice(replies)[1]
                w.writerow(
                    [
                        next_id,
                        customer if is_in else brand,
                        "True" if is_in else "False",
                        at.strftime("%a %b %d %H:%M:%S +0000 %Y"),
                        body,
                        "",
                        parent,
                    ]
                )
                parent = str(next_id)
                at += timedelta(minutes=rng.randrange(1, 600))
                written += 1
    return written


def run(url: str, path: Path, rows: int, triage: bool) -> dict[str, float]:
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    triage_fn = None
    if triage:
        from caredesk.triage import get_triager

        t = get_triager()
        triage_fn = lambda texts: [t.triage(x).to_dict() for x in texts]  # noqa: E731
    began = time.perf_counter()
    report = import_twcs(sessions, SystemClock(), path, "Bench", triage=triage_fn)
    elapsed = time.perf_counter() - began
    again = time.perf_counter()
    second = import_twcs(sessions, SystemClock(), path, "Bench", triage=triage_fn)
    reimport = time.perf_counter() - again
    engine.dispose()
    assert second.messages == 0, "re-import must change nothing"
    return {
        "posts_per_s": round(report.messages / elapsed, 1),
        "seconds": round(elapsed, 2),
        "messages": report.messages,
        "conversations": report.conversations,
        "reimport_s": round(reimport, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data"
    )
    ap.add_argument("--triage", action="store_true", help="triage posts while importing")
    args = ap.parse_args()
    source = args.data / "twcs" / "twcs_random5000.csv"
    if not source.exists():
        sys.exit(f"missing {source}: pass --data pointing at shared/data")
    tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-import-"))
    csv_path = tmp / "twcs_big.csv"
    rows = build_file(source, args.rows, csv_path)
    print(f"generated {rows} rows ({csv_path.stat().st_size / 1e6:.1f} MB)")
    sqlite = run(f"sqlite:///{tmp / 'bench.db'}", csv_path, rows, args.triage)
    print(f"sqlite:   {sqlite}")
    admin = make_engine(PG_ADMIN)
    name = f"caredesk_bench_import_{uuid.uuid4().hex[:6]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        pg = run(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", csv_path, rows, args.triage)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"postgres: {pg}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")
    print(
        json.dumps(
            {
                "bench": "import_twcs",
                "rows": rows,
                "triage": args.triage,
                "sqlite_posts_per_s": sqlite["posts_per_s"],
                "postgres_posts_per_s": pg["posts_per_s"],
                "peak_rss_mb": round(peak, 1),
                "sqlite": sqlite,
                "postgres": pg,
            }
        )
    )


if __name__ == "__main__":
    main()
