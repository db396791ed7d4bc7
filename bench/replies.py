"""Composer and outbox speed: API p95 of inserting a canned response and linting a draft, suggestion
p95 with many past conversations, outbox deliveries per second.

Builds a fresh SQLite database with one workspace (starter canned set, team guidelines) and
``--past`` solved conversations (Bitext requests and responses from --data, default
../shared/data, cycled with varying order numbers), then calls the real FastAPI app served by
uvicorn on localhost with one keep-alive httpx client. The suggestion index is built once (its
build time is reported) and queries hit the warm index. Outbox: ``--deliveries`` replies queued,
then delivered one by one (one worker) twice: through the generic channel to a local HTTP server,
and through a no-op adapter (the outbox's own cost: claim, record, events).

Runs on SQLite and, with --database both|postgresql, on PostgreSQL (--pg-url; the database is
dropped and created afresh). Per action: p50/p95/p99 and CPU ms per call (this process: server
and client). Suggestion index: full build time, then cold start (this process forgets its index,
as after a restart; the next request loads the snapshot from disk) versus the old per-process
rebuild, then suggestions with a tail of freshly resolved conversations.

Usage: python bench/replies.py [--past 20000] [--requests 200] [--deliveries 300]
       [--database sqlite|postgresql|both]
Default sizes (SQLite only) run in about 2-3 minutes here; the goal size is --past 100000
(several minutes per database, mostly seeding and the one-off index build). Ends with one JSON
line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, func, insert, select, text

from caredesk.channels.base import OutboundReply, SendResult
from caredesk.channels.registry import register_plugin
from caredesk.config import Settings
from caredesk.conversations.agents import (
    do_create_account,
    do_create_agent,
    do_create_team,
    do_create_workspace,
)
from caredesk.conversations.service import TriageView, do_record_inbound
from caredesk.kit.clock import SystemClock
from caredesk.kit.db import make_engine, make_sessionmaker, unit_of_work
from caredesk.kit.migrate import upgrade
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import Conversation, Customer, Message, OutboxItem
from caredesk.replies import suggest, suggest_index
from caredesk.replies.canned import do_install_starter_set
from caredesk.replies.delivery import deliver
from caredesk.replies.guidelines import do_set_guidelines
from caredesk.replies.service import do_send_reply

SECRET = "bench-secret-key-123456"
DRAFTS = [
    "Hi Nina, so sorry about the delay! Your refund is on its way. /AB",
    "Please calm down, we are looking at it https://help.acme.test/refunds/how-long-does-it-take",
    "Hej Nina, vi kigger på det med det samme og vender tilbage i dag. /AB",
    "Hi! Could you DM us your order number so we can check the delivery? /AB",
]
QUERIES = [
    "I want a refund for my last order, it never arrived",
    "how do I change my shipping address",
    "Jeg kan ikke logge ind på min konto",
    "मेरा पासवर्ड रीसेट नहीं हो रहा",
    "can you help me cancel my subscription please",
    "I was charged twice on my card",
]


def load_bitext(data: Path) -> list[tuple[str, str]]:
    path = data / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8") as fh:
        return [(r["instruction"], r["response"][:1500]) for r in csv.DictReader(fh)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def p95(samples: list[float]) -> float:
    return round(float(np.percentile(samples, 95)), 2)


def p50(samples: list[float]) -> float:
    return round(float(np.percentile(samples, 50)), 2)


def p99(samples: list[float]) -> float:
    return round(float(np.percentile(samples, 99)), 2)


def summary(samples: list[float], cpu_ms: float) -> dict[str, float]:
    return {
        "p50_ms": p50(samples),
        "p95_ms": p95(samples),
        "p99_ms": p99(samples),
        "cpu_ms_per_call": round(cpu_ms, 2),
        "n": len(samples),
    }


def seed_past(sessions: Any, workspace_id: int, n: int, pairs: list[tuple[str, str]]) -> None:
    """Bulk-insert ``n`` closed conversations (customer message + agent reply) quickly."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 5000
    for lo in range(0, n, batch):
        hi = min(n, lo + batch)
        with unit_of_work(sessions) as session:
            customers = [
                {
                    "workspace_id": workspace_id,
                    "display_name": f"Customer {i}",
                    "tags": [],
                    "contact_details": {},
                    "notes": "",
                    "vip": False,
                    "created_at": start,
                    "updated_at": start,
                }
                for i in range(lo, hi)
            ]
            base = session.execute(select(func.coalesce(func.max(Customer.id), 0))).scalar_one()
            cust_ids = [base + 1 + j for j in range(len(customers))]
            for row, cid in zip(customers, cust_ids, strict=True):
                row["id"] = cid
            session.execute(insert(Customer.__table__), customers)
            convs = []
            for j, i in enumerate(range(lo, hi)):
                at = start + timedelta(minutes=i)
                convs.append(
                    {
                        "workspace_id": workspace_id,
                        "number": 100_000 + i,
                        "reference": f"PAST-{i}",
                        "customer_id": cust_ids[j],
                        "channel": "generic",
                        "status": "closed",
                        "language": "en",
                        "triage_reasons": [],
                        "tags": [],
                        "sla_state": {},
                        "message_count": 2,
                        "needs_reply": False,
                        "last_message_at": at,
                        "imported": True,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
            base = session.execute(select(func.coalesce(func.max(Conversation.id), 0))).scalar_one()
            conv_ids = [base + 1 + j for j in range(len(convs))]
            for row, cid in zip(convs, conv_ids, strict=True):
                row["id"] = cid
            session.execute(insert(Conversation.__table__), convs)
            messages = []
            for j, i in enumerate(range(lo, hi)):
                text, reply = pairs[i % len(pairs)]
                text = text.replace("{{Order Number}}", str(rng.randint(10_000, 99_999)))
                at = start + timedelta(minutes=i)
                for direction, body, ext in (("in", text, f"in-{i}"), ("out", reply, f"out-{i}")):
                    messages.append(
                        {
                            "workspace_id": workspace_id,
                            "conversation_id": conv_ids[j],
                            "channel": "generic",
                            "external_id": ext,
                            "direction": direction,
                            "author_label": "",
                            "text": body,
                            "thread_refs": [],
                            "triage": {},
                            "sent_state": "sent" if direction == "out" else None,
                            "created_at": at + timedelta(minutes=1 if direction == "out" else 0),
                            "received_at": at,
                        }
                    )
            session.execute(insert(Message.__table__), messages)


class NullAdapter:
    """Accepts every reply instantly: what is left is the outbox's own cost."""

    kind = "bench-null"
    max_text_length = None

    def handshake(self, request: Any, config: Any) -> None:
        return None

    def verify(self, request: Any, config: Any) -> None:
        return None

    def parse(self, request: Any, config: Any) -> list[Any]:
        return []

    def fetch(self, cursor: Any, config: Any) -> Any:
        return None

    def send(self, reply: OutboundReply, config: Any) -> SendResult:
        return SendResult(external_id=f"null-{reply.idempotency_key}")


ADAPTER = NullAdapter()


def deliver_all(sessions: Any, clock: Any, item_ids: list[int]) -> float:
    t0 = time.perf_counter()
    states = [deliver(sessions, clock, item_id) for item_id in item_ids]
    elapsed = time.perf_counter() - t0
    assert states.count("sent") == len(item_ids), states
    return round(len(item_ids) / elapsed, 1)


class Receiver(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        key = self.headers.get("Idempotency-Key", "")
        body = json.dumps({"id": f"net-{key[:20]}"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def fresh_postgres(url: str) -> None:
    """Drop and create the bench database (it is the bench's own)."""
    base, _, name = url.rpartition("/")
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def advance_sequences(sessions: Any) -> None:
    """seed_past sets ids itself; PostgreSQL's sequences must move past them."""
    with unit_of_work(sessions) as session:
        for table in ("customers", "conversations"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


def run(url: str, args: argparse.Namespace, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    from caredesk.app import create_app
    from caredesk.channels.base import InboundPost
    from caredesk.models import Agent, ChannelAccount, Workspace

    database = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"--- {database}")
    if database == "postgresql":
        fresh_postgres(url)
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    clock = SystemClock()
    suggest.forget()
    suggest_index.configure(Path(tempfile.mkdtemp(prefix="caredesk-bench-index-")))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    reply_url = f"http://127.0.0.1:{server.server_address[1]}/replies"

    with unit_of_work(sessions) as session:
        ws = do_create_workspace(session, clock, "Bench")
        team = do_create_team(session, clock, ws, "Care", "care")
        do_set_guidelines(
            session, clock, team,
            {"forbidden_phrases": ["calm down", "unfortunately"], "greetings": ["Hi", "Hej"],
             "sign_offs": ["/AB"], "max_length": {"generic": 600}},
        )  # fmt: skip
        agent = do_create_agent(
            session, clock, email="bench@example.com", name="Bench Agent",
            password="bench-password-1", role="agent", workspace_ids=[ws.id], languages=["en"],
        )  # fmt: skip
        account = do_create_account(
            session, clock, ws, kind="generic", handle="brand", config={"reply_url": reply_url},
            secrets={"webhook_secret": "bench-bench-bench"},
        )  # fmt: skip
        do_install_starter_set(session, clock, ws)
        ws_id, team_id, agent_id, account_id = ws.id, team.id, agent.id, account.id

    t0 = time.perf_counter()
    seed_past(sessions, ws_id, args.past, pairs)
    if database == "postgresql":
        advance_sequences(sessions)
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    print(f"seeded {args.past} past conversations in {time.perf_counter() - t0:.1f}s")

    # Open conversations the composer works on, plus some to resolve for the index's tail.
    triage = TriageView(language="en", sentiment="negative", reasons=("bench",))
    open_ids, tail_ids = [], []
    with unit_of_work(sessions) as session:
        ws = session.get_one(Workspace, ws_id)
        for i in range(len(QUERIES) + args.tail):
            q = QUERIES[i] if i < len(QUERIES) else pairs[i % len(pairs)][0]
            post = InboundPost(
                channel="generic", external_id=f"open-{i}", text=q, author_external_id=f"o{i}",
                author_handle=f"open{i}", created_at=clock.now(),
            )  # fmt: skip
            out = do_record_inbound(session, clock, ws, post, account_id=account_id, triage=triage)
            out.conversation.team_id = team_id
            (open_ids if i < len(QUERIES) else tail_ids).append(out.conversation.id)

    rt = Runtime(Settings(secret_key=SECRET), engine, sessions, clock)
    set_runtime(rt)
    port = free_port()
    server_api = uvicorn.Server(
        uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server_api.run, daemon=True).start()
    while not server_api.started:
        time.sleep(0.05)
    cookie = URLSafeTimedSerializer(SECRET, salt="caredesk-session").dumps(
        {"a": agent_id, "c": "t"}
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", cookies={"caredesk_session": cookie})

    def timed(fn: Any) -> float:
        t = time.perf_counter()
        r = fn()
        assert r.status_code < 300, r.text
        return (time.perf_counter() - t) * 1000

    def measure(n: int, call: Any) -> dict[str, float]:
        # CPU time of this process per call: server and client, not time waiting for a core.
        cpu = time.process_time()
        samples = [timed(lambda i=i: call(i)) for i in range(n)]
        return summary(samples, (time.process_time() - cpu) * 1000 / n)

    shortcuts = ["/ack", "/sorry", "/refund", "/delay", "/thanks", "/order"]

    def insert_call(i: int) -> Any:
        return client.post(
            f"/api/v1/conversations/{open_ids[i % len(open_ids)]}/canned",
            json={"shortcut": shortcuts[i % len(shortcuts)]},
        )

    def lint_call(i: int) -> Any:
        return client.post(
            f"/api/v1/conversations/{open_ids[i % len(open_ids)]}/lint",
            json={"text": DRAFTS[i % len(DRAFTS)] + f" {i}"},
        )

    def suggest_call(i: int) -> Any:
        return client.get(f"/api/v1/conversations/{open_ids[i % len(open_ids)]}/suggestions")

    for i in range(10):  # warm-up: imports, caches, the language model
        timed(lambda i=i: lint_call(i))
        timed(lambda i=i: insert_call(i))
    results: dict[str, Any] = {
        "insert_canned": measure(args.requests, insert_call),
        "lint": measure(args.requests, lint_call),
    }

    t0 = time.perf_counter()
    with unit_of_work(sessions) as session:
        suggest.past_index(session, ws_id, wait=True)
    build_s = time.perf_counter() - t0
    print(f"suggestion index over {args.past} conversations built and saved in {build_s:.1f}s")
    # Cold start: what the first agent after a restart waits for. Before: a full rebuild
    # (build_s, paid by every process). Now: load the snapshot and answer.
    suggest.forget()
    cold_ms = timed(lambda: suggest_call(0))
    n_suggest = max(20, args.requests // 2)
    results["suggest"] = measure(n_suggest, suggest_call)

    # Tail: resolve conversations through the app; each is served on the next request.
    for cid in tail_ids:
        r = client.post(f"/api/v1/conversations/{cid}/send", json={
            "text": "Hi! Sorted: your order is on its way now. /AB", "override": True,
            "override_reason": "bench"})  # fmt: skip
        assert r.status_code < 300, r.text
        r = client.post(f"/api/v1/conversations/{cid}/status", json={"status": "solved"})
        assert r.status_code < 300, r.text
    t0 = time.perf_counter()
    timed(lambda: suggest_call(0))
    tail_first_ms = (time.perf_counter() - t0) * 1000
    results["suggest_with_tail"] = measure(n_suggest, suggest_call)
    with sessions() as session:
        state = suggest.past_index(session, ws_id)
        tail_docs = state.tail.index.n_docs if state and state.tail else 0
    print(
        f"{database}: cold start {cold_ms:.0f} ms (was a {build_s:.1f}s rebuild); tail of "
        f"{tail_docs} resolved conversations, next request {tail_first_ms:.0f} ms"
    )
    for name, r in results.items():
        print(f"  {name:18s} p50 {r['p50_ms']:7.2f}  p95 {r['p95_ms']:7.2f}  p99 "
              f"{r['p99_ms']:7.2f} ms   CPU {r['cpu_ms_per_call']:.2f} ms/call")  # fmt: skip

    with unit_of_work(sessions) as session:
        agent = session.get_one(Agent, agent_id)
        for i in range(args.deliveries):
            conv = session.get_one(Conversation, open_ids[i % len(open_ids)])
            do_send_reply(session, clock, conv, agent, f"Hi! Update number {i}. /AB")
        item_ids = list(
            session.execute(select(OutboxItem.id).where(OutboxItem.state == "queued")).scalars()
        )
    per_s = deliver_all(sessions, clock, item_ids)
    print(f"  outbox via HTTP: {len(item_ids)} delivered ({per_s}/s, one worker)")
    register_plugin("bench-null", __name__)
    with unit_of_work(sessions) as session:
        session.get_one(ChannelAccount, account_id).config = {"delivery_adapter": "bench-null"}
        agent = session.get_one(Agent, agent_id)
        for i in range(args.deliveries):
            conv = session.get_one(Conversation, open_ids[i % len(open_ids)])
            do_send_reply(session, clock, conv, agent, f"Hi! Null update {i}. /AB")
        item_ids = list(
            session.execute(select(OutboxItem.id).where(OutboxItem.state == "queued")).scalars()
        )
    null_per_s = deliver_all(sessions, clock, item_ids)
    print(f"  outbox, no-op network: {len(item_ids)} delivered ({null_per_s}/s, one worker)")
    server.shutdown()
    server_api.should_exit = True
    client.close()
    time.sleep(0.5)
    engine.dispose()
    return {
        "actions": results,
        "suggest_index_build_s": round(build_s, 2),
        "cold_start_first_suggestion_ms": round(cold_ms, 1),
        "cold_start_before_s": round(build_s, 2),
        "tail_conversations": tail_docs,
        "tail_first_request_ms": round(tail_first_ms, 1),
        "outbox_deliveries_per_s": per_s,
        "outbox_noop_network_deliveries_per_s": null_per_s,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--past", type=int, default=20_000, help="past solved conversations")
    ap.add_argument("--requests", type=int, default=200, help="API calls per measured action")
    ap.add_argument("--deliveries", type=int, default=300, help="outbox items to deliver")
    ap.add_argument("--tail", type=int, default=50, help="conversations resolved after the index")
    ap.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    ap.add_argument(
        "--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_replies"
    )
    args = ap.parse_args()
    pairs = load_bitext(Path(args.data))
    urls = []
    if args.database in ("sqlite", "both"):
        tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-replies-"))
        urls.append(f"sqlite:///{tmp / 'bench.db'}")
    if args.database in ("postgresql", "both"):
        urls.append(args.pg_url)
    by_db = {}
    for url in urls:
        by_db["postgresql" if url.startswith("postgresql") else "sqlite"] = run(url, args, pairs)
    main_db = next(iter(by_db.values()))
    acts = main_db["actions"]
    print(
        json.dumps(
            {
                "insert_canned_p95_ms": acts["insert_canned"]["p95_ms"],
                "lint_p95_ms": acts["lint"]["p95_ms"],
                "suggest_p95_ms": acts["suggest"]["p95_ms"],
                "cpu_ms_per_call": {k: v["cpu_ms_per_call"] for k, v in acts.items()},
                "cold_start_first_suggestion_ms": main_db["cold_start_first_suggestion_ms"],
                "outbox_deliveries_per_s": main_db["outbox_deliveries_per_s"],
                "database": next(iter(by_db)),
                "by_database": by_db,
                "past_conversations": args.past,
                "requests": args.requests,
                "deliveries": args.deliveries,
                "load_avg_1m": round(os.getloadavg()[0], 1),
                "cpus": os.cpu_count(),
                "transport": "uvicorn + httpx keep-alive, one client",
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
