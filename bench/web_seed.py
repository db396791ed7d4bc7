"""Bulk seeding for bench/web.py: a desk with N conversations and 3N messages.

SQLite: one connection, ``synchronous=OFF`` and no journal for this bench file only, executemany
in big transactions (the FTS5 triggers index each message as it goes in). PostgreSQL: COPY in
text format, with the large tables' secondary indexes dropped first and rebuilt after (one
sorted build beats 3M GIN/b-tree insertions). Columns the bench does not set get the model's
own default, so a column added later does not break the seeder.

Conversations are created in time order, as a live desk creates them: ids grow with time, and
each conversation's first message names an order number (``ORD0000042``), the rare word agents
search for; the rest is real demo post text, so common words hit many thousands of messages.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Table

from caredesk.importers.demo import demo_posts_path
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

PASSWORD = "bench-password-123"
CHANNELS = ("x", "mastodon", "facebook", "instagram", "email")
LANGS = ("en", "en", "en", "da", "hi", "ur", "te")
OPEN = ("new", "in_progress", "pending", "acknowledged")
OPEN_SHARE = 0.05  # a busy desk's history is mostly closed
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")
KINDS = ("care", "care", "care", "sales", "engagement")
WORKSPACES = 2  # a second brand so every query has to scope by workspace
TEAMS = 5
CHUNK = 50_000
DAY = 86_400


def corpus() -> list[str]:
    texts = []
    with demo_posts_path().open(encoding="utf-8") as fh:
        for line in fh:
            t = json.loads(line).get("text") or ""
            if t.strip():
                texts.append(t)
    return texts


def order_word(conversation_id: int) -> str:
    return f"ORD{conversation_id:07d}"


class Encoder:
    """Python values to what one database takes in bulk (SQLite parameters or COPY text)."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def at(self, t: datetime) -> str:
        # isoformat is a C fast path; SQLite keeps naive UTC text with microseconds.
        if self.pg:
            return t.isoformat(" ")
        return t.replace(tzinfo=None).isoformat(" ", "microseconds")

    def value(self, v: Any) -> Any:
        if isinstance(v, bool):
            return ("t" if v else "f") if self.pg else int(v)
        if isinstance(v, dict | list):
            return json.dumps(v)
        if isinstance(v, datetime):
            return self.at(v)
        return v


def _copy_text(v: Any) -> str:
    if v is None:
        return "\\N"
    s = str(v)
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        s = s.replace("\r", "\\r")
    return s


def defaults(table: Table, given: tuple[str, ...]) -> dict[str, Any]:
    """The model's default for every column the seeder does not set (None when it has none)."""
    out: dict[str, Any] = {}
    for col in table.columns:
        if col.name in given or col.name == "id":
            continue
        d = col.default
        if d is None:
            out[col.name] = None
        elif getattr(d, "is_callable", False):
            out[col.name] = d.arg(None)  # type: ignore[union-attr]
        else:
            out[col.name] = getattr(d, "arg", None)
    return out


class Writer:
    """Bulk rows into one table: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.enc = Encoder(dialect)

    def rows(self, table: Table, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
        """``rows`` hold values already encoded (``Encoder.value``/``at``) for speed."""
        extra = defaults(table, columns)
        names = (*columns, *extra)
        tail = tuple(self.enc.value(v) for v in extra.values())
        if not self.enc.pg:
            sql = (
                f"INSERT INTO {table.name} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))})"
            )
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(row + tail)
                if len(batch) >= CHUNK:
                    self.conn.executemany(sql, batch)
                    batch = []
            if batch:
                self.conn.executemany(sql, batch)
            return
        tail_text = "".join("\t" + _copy_text(v) for v in tail)
        with self.conn.cursor().copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            buf: list[str] = []
            for row in rows:
                buf.append("\t".join(map(_copy_text, row)) + tail_text + "\n")
                if len(buf) >= CHUNK:
                    copy.write("".join(buf))
                    buf = []
            if buf:
                copy.write("".join(buf))


def _sqlite_drop_indexes(conn: sqlite3.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the explicit indexes and triggers (the FTS5 ones) of ``tables``; return their DDL.
    Building an index once over sorted data beats millions of insertions into it."""
    marks = ",".join("?" * len(tables))
    rows = conn.execute(
        f"SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')"
        f" AND tbl_name IN ({marks}) AND sql IS NOT NULL",
        tables,
    ).fetchall()
    for kind, name, _ in rows:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    return [ddl for _, _, ddl in rows]


def _pg_drop_indexes(conn: psycopg.Connection[Any], tables: tuple[str, ...]) -> list[str]:
    """Drop the secondary (non-constraint) indexes of ``tables``; return how to rebuild them."""
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        (list(tables),),
    ).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [d for _, d in rows]


def seed(url: str, dialect: str, n: int, agents: int, rng: random.Random) -> None:
    """Fill a freshly migrated, empty database at ``url`` (a SQLite path or a libpq URL)."""
    if dialect == "postgresql":
        conn: Any = psycopg.connect(url)
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        # Bench rows are consistent by construction: skip the per-row foreign-key triggers.
        conn.execute("SET session_replication_role = replica")
        rebuild = _pg_drop_indexes(conn, ("messages", "conversations", "customers"))
    else:
        conn = sqlite3.connect(url, isolation_level=None)
        # Bench file only: nothing here must survive a crash; the app reopens it in WAL mode.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        conn.execute("BEGIN")
        rebuild = _sqlite_drop_indexes(conn, ("messages", "conversations", "customers"))
    w = Writer(conn, dialect)
    e = w.enc

    def small(rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        return (tuple(e.value(v) for v in row) for row in rows)

    texts = corpus()
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365)

    ws_ids = list(range(1, WORKSPACES + 1))
    w.rows(
        Workspace.__table__,  # type: ignore[arg-type]
        (
            "id",
            "name",
            "slug",
            "timezone",
            "default_language",
            "reference_prefix",
            "next_conversation_number",
            "created_at",
        ),
        small(
            [
                (ws, f"Bench {ws}", f"bench-{ws}", "Europe/Copenhagen", "en", f"B{ws}", n + 1, now)
                for ws in ws_ids
            ]
        ),
    )
    teams = {ws: [(ws - 1) * TEAMS + t + 1 for t in range(TEAMS)] for ws in ws_ids}
    w.rows(
        Team.__table__,  # type: ignore[arg-type]
        ("id", "workspace_id", "name", "kind", "timezone", "created_at"),
        small([(tid, ws, f"Team {tid}", "care", "UTC", now) for ws in ws_ids for tid in teams[ws]]),
    )
    pw = hash_password(PASSWORD)
    agent_ws = {a + 1: ws_ids[a % WORKSPACES] for a in range(agents)}
    w.rows(
        Agent.__table__,  # type: ignore[arg-type]
        (
            "id",
            "email",
            "name",
            "password_hash",
            "role",
            "languages",
            "timezone",
            "ui_language",
            "capacity",
            "presence",
            "is_active",
            "created_at",
        ),
        small(
            [
                (
                    a,
                    f"agent{a - 1}@bench.local",
                    f"Agent {a - 1}",
                    pw,
                    "agent",
                    ["en"],
                    "UTC",
                    "en",
                    50,
                    "online",
                    True,
                    now,
                )
                for a in agent_ws
            ]
        ),
    )
    w.rows(
        Membership.__table__,  # type: ignore[arg-type]
        ("agent_id", "workspace_id", "role"),
        small([(a, ws, "agent") for a, ws in agent_ws.items()]),
    )
    w.rows(
        TeamMember.__table__,  # type: ignore[arg-type]
        ("team_id", "agent_id", "is_backup"),
        small([(teams[ws][a % TEAMS], a, False) for a, ws in agent_ws.items()]),
    )
    by_ws = {ws: [a for a, aws in agent_ws.items() if aws == ws] for ws in ws_ids}

    customers = max(WORKSPACES, n // 2)
    w.rows(
        Customer.__table__,  # type: ignore[arg-type]
        ("id", "workspace_id", "display_name", "language", "vip", "created_at", "updated_at"),
        (
            (
                c,
                ws_ids[c % WORKSPACES],
                f"Customer {c}",
                rng.choice(LANGS),
                e.value(c % 97 == 0),
                e.at(start),
                e.at(start),
            )
            for c in range(1, customers + 1)
        ),
    )

    # Conversation i starts at offsets[i]: sorted, so ids grow with time as on a live desk.
    offsets = sorted(rng.randrange(365 * DAY - 3 * 3600) for _ in range(n))
    numbers = dict.fromkeys(ws_ids, 0)
    convs: list[tuple[int, int, datetime]] = []  # id, workspace, created

    def conversation_rows() -> Iterator[tuple[Any, ...]]:
        for i, off in enumerate(offsets):
            cid = i + 1
            cust = rng.randrange(1, customers + 1)
            ws = ws_ids[cust % WORKSPACES]
            numbers[ws] += 1
            at = start + timedelta(seconds=off)
            convs.append((cid, ws, at))
            # The newest conversations are the open ones, as on a desk that keeps up.
            open_ = rng.random() < (OPEN_SHARE * 4 if i > n * 0.9 else OPEN_SHARE * 5 / 9)
            first, last = e.at(at), e.at(at + timedelta(minutes=40))
            yield (
                cid,
                ws,
                numbers[ws],
                f"B{ws}-{numbers[ws]}",
                cust,
                rng.choice(CHANNELS),
                rng.choice(OPEN) if open_ else "closed",
                rng.choice(PRIORITIES),
                rng.choice(KINDS),
                rng.choice(LANGS),
                rng.choice(("negative", "neutral", "positive")),
                e.value(open_),
                rng.choice(teams[ws]),
                rng.choice(by_ws[ws]) if rng.random() < 0.7 else None,
                3,
                first,
                last,
                last,
                e.at(at + timedelta(hours=2)) if open_ else None,
                first,
                last,
            )

    w.rows(
        Conversation.__table__,  # type: ignore[arg-type]
        (
            "id",
            "workspace_id",
            "number",
            "reference",
            "customer_id",
            "channel",
            "status",
            "priority",
            "kind",
            "language",
            "sentiment",
            "needs_reply",
            "team_id",
            "assignee_id",
            "message_count",
            "first_inbound_at",
            "last_inbound_at",
            "last_message_at",
            "sla_due_at",
            "created_at",
            "updated_at",
        ),
        conversation_rows(),
    )

    def message_rows() -> Iterator[tuple[Any, ...]]:
        mid = 0
        for cid, ws, at in convs:
            for k, direction in enumerate(("in", "out", "in")):
                mid += 1
                body = rng.choice(texts)
                if k == 0:
                    body = f"{body} (order {order_word(cid)})"
                when = e.at(at + timedelta(minutes=20 * k))
                yield (
                    mid,
                    ws,
                    cid,
                    "x",
                    f"m{cid}-{k}",
                    direction,
                    "Customer" if direction == "in" else "Agent",
                    body,
                    "sent" if direction == "out" else None,
                    when,
                    when,
                )

    w.rows(
        Message.__table__,  # type: ignore[arg-type]
        (
            "id",
            "workspace_id",
            "conversation_id",
            "channel",
            "external_id",
            "direction",
            "author_label",
            "text",
            "sent_state",
            "created_at",
            "received_at",
        ),
        message_rows(),
    )
    if dialect == "postgresql":
        for table in ("workspaces", "teams", "agents", "customers", "conversations", "messages"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        for ddl in rebuild:
            conn.execute(ddl)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    else:
        for ddl in rebuild:
            conn.execute(ddl)
        # The FTS5 triggers were off while loading: index every message in one pass.
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
