"""Writing TWCS threads into a workspace, in bulk, idempotently.

Imported conversations are history: they are written closed (an ``imported`` close event, no
resolution note needed) so they do not flood today's queues, yet every message, first response
and brand reply is in the event log with its original time, which is what reports read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from caredesk.conversations.agents import do_create_account, do_create_workspace
from caredesk.events import E
from caredesk.importers.twcs_rows import ReadReport, Thread, load
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work
from caredesk.kit.ids import conversation_reference
from caredesk.models import (
    Conversation,
    Customer,
    Event,
    Identity,
    Message,
    Workspace,
)

CHANNEL = "x"
BATCH_THREADS = 2000
Triage = Callable[[Sequence[str]], list[dict[str, Any]]]


@dataclass
class ImportReport:
    rows: int = 0
    customers: int = 0
    conversations: int = 0
    messages: int = 0
    brand_replies: int = 0
    skipped_existing: int = 0
    errors: list[str] = field(default_factory=list)


def import_twcs(
    sessions: sessionmaker[Session],
    clock: Clock,
    path: Path,
    workspace_name: str,
    *,
    triage: Triage | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    read = ReadReport()
    threads = load(path, read)
    report = ImportReport(rows=read.rows, errors=[*read.errors, *read.skipped_threads])
    with unit_of_work(sessions) as session:
        workspace = do_create_workspace(session, clock, workspace_name)
        workspace_id = workspace.id
        brands = sorted({t.author_id for th in threads for t in th.tweets if not t.inbound})
        accounts = {
            handle: do_create_account(session, clock, workspace, kind=CHANNEL, handle=handle).id
            for handle in brands
        }
    done = 0
    for number, start in enumerate(range(0, len(threads), BATCH_THREADS), start=1):
        batch = threads[start : start + BATCH_THREADS]
        with unit_of_work(sessions) as session:
            _write_batch(session, clock, workspace_id, accounts, batch, report, triage)
        if number & (number - 1) == 0:
            _refresh_statistics(sessions)
        done += len(batch)
        if on_progress:
            on_progress(done, len(threads))
    return report


def _bulk_insert(
    session: Session, model: type[Message] | type[Event], rows: list[dict[str, Any]]
) -> None:
    """executemany on SQLite; COPY on PostgreSQL, where psycopg's executemany sends one
    statement per row (a bulk import spends most of its time there)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(model), rows)
        return
    from psycopg.types.json import Jsonb

    columns = list(rows[0])
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([Jsonb(v) if isinstance(v, dict | list) else v for v in row.values()])


def _refresh_statistics(sessions: sessionmaker[Session]) -> None:
    """Keep PostgreSQL's planner statistics in step with a bulk load.

    A freshly loaded table looks empty to the planner until autovacuum runs, so the lookups by
    external id scan the whole workspace per batch (quadratic). Refreshing after batches 1, 2, 4,
    8, ... costs little and keeps the index lookups exact.
    """
    with unit_of_work(sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE messages, identities, customers, conversations"))


def _existing_ids(session: Session, workspace_id: int, ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        found.update(
            (str(ext), cid)
            for ext, cid in session.execute(
                select(Message.external_id, Message.conversation_id).where(
                    Message.workspace_id == workspace_id,
                    Message.channel == CHANNEL,
                    Message.external_id.in_(chunk),
                )
            )
        )
    return found


def _customers(
    session: Session, clock: Clock, workspace_id: int, handles: set[str], report: ImportReport
) -> dict[str, tuple[int, int]]:
    """handle -> (customer id, identity id), creating what is missing."""
    known: dict[str, tuple[int, int]] = {}
    handle_list = sorted(handles)
    for i in range(0, len(handle_list), 900):
        chunk = handle_list[i : i + 900]
        for ext, customer_id, identity_id in session.execute(
            select(Identity.external_id, Identity.customer_id, Identity.id).where(
                Identity.workspace_id == workspace_id,
                Identity.channel == CHANNEL,
                Identity.external_id.in_(chunk),
            )
        ):
            known[ext] = (customer_id, identity_id)
    missing = [h for h in handle_list if h not in known]
    if not missing:
        return known
    now = clock.now()
    customer_ids = (
        session.execute(
            insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
            [
                {
                    "workspace_id": workspace_id,
                    "display_name": f"@{h}",
                    "tags": [],
                    "contact_details": {},
                    "notes": "",
                    "vip": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for h in missing
            ],
        )
        .scalars()
        .all()
    )
    identity_ids = (
        session.execute(
            insert(Identity).returning(Identity.id, sort_by_parameter_order=True),
            [
                {
                    "workspace_id": workspace_id,
                    "customer_id": cid,
                    "channel": CHANNEL,
                    "external_id": h,
                    "handle": h,
                    "verified": False,
                    "created_at": now,
                }
                for h, cid in zip(missing, customer_ids, strict=True)
            ],
        )
        .scalars()
        .all()
    )
    for h, cid, iid in zip(missing, customer_ids, identity_ids, strict=True):
        known[h] = (cid, iid)
    report.customers += len(missing)
    return known


def _write_batch(
    session: Session,
    clock: Clock,
    workspace_id: int,
    accounts: dict[str, int],
    threads: list[Thread],
    report: ImportReport,
    triage: Triage | None,
) -> None:
    existing = _existing_ids(
        session, workspace_id, [t.tweet_id for th in threads for t in th.tweets]
    )
    # A thread seen before (re-import) is skipped; its known tweets are counted.
    fresh: list[Thread] = []
    partial: list[Thread] = []
    for th in threads:
        (partial if any(t.tweet_id in existing for t in th.tweets) else fresh).append(th)
    report.skipped_existing += sum(1 for th in partial for t in th.tweets if t.tweet_id in existing)
    customers = _customers(session, clock, workspace_id, {th.customer_id for th in fresh}, report)
    workspace = session.get_one(Workspace, workspace_id)
    first_number = session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(next_conversation_number=Workspace.next_conversation_number + len(fresh))
        .returning(Workspace.next_conversation_number)
    ).scalar_one() - len(fresh)
    inbound_texts = [t.text for th in fresh for t in th.tweets if t.inbound]
    labels = iter(triage(inbound_texts) if triage and inbound_texts else [])
    now = clock.now()
    conv_rows: list[dict[str, Any]] = []
    per_thread_triage: list[list[dict[str, Any]]] = []
    for offset, th in enumerate(fresh):
        inbound = [t for t in th.tweets if t.inbound]
        replies = [t for t in th.tweets if not t.inbound]
        thread_labels = [next(labels) for _ in inbound] if triage else []
        per_thread_triage.append(thread_labels)
        first_in = inbound[0].created_at if inbound else None
        first_reply = next(
            (t.created_at for t in replies if first_in and t.created_at >= first_in), None
        )
        lead = thread_labels[0] if thread_labels else {}
        number = first_number + offset
        conv_rows.append(
            {
                "workspace_id": workspace_id,
                "number": number,
                "reference": conversation_reference(workspace.reference_prefix, number),
                "customer_id": customers[th.customer_id][0],
                "channel": CHANNEL,
                "channel_account_id": accounts.get(replies[0].author_id) if replies else None,
                "status": "closed",
                "priority": lead.get("priority", "normal"),
                "kind": lead.get("kind", "care"),
                "intent": lead.get("intent"),
                "language": lead.get("language"),
                "sentiment": lead.get("sentiment"),
                "needs_reply": bool(lead.get("needs_reply", True)),
                "triage_reasons": list(lead.get("reasons", [])),
                "tags": [],
                "sla_state": {},
                "is_private": False,
                "unaddressed": False,
                "thread_root": th.tweets[0].tweet_id,
                "message_count": len(th.tweets),
                "first_inbound_at": first_in,
                "first_response_at": first_reply,
                "acknowledged_at": first_reply,
                "last_inbound_at": inbound[-1].created_at if inbound else None,
                "last_outbound_at": replies[-1].created_at if replies else None,
                "last_message_at": th.tweets[-1].created_at,
                "closed_at": th.tweets[-1].created_at,
                "imported": True,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    if not conv_rows:
        return
    conv_ids = (
        session.execute(
            insert(Conversation).returning(Conversation.id, sort_by_parameter_order=True), conv_rows
        )
        .scalars()
        .all()
    )
    msg_rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for th, cid, conv, thread_labels in zip(
        fresh, conv_ids, conv_rows, per_thread_triage, strict=True
    ):
        identity_id = customers[th.customer_id][1]
        label_iter = iter(thread_labels)
        ev = {
            "workspace_id": workspace_id,
            "conversation_id": cid,
            "actor_kind": "import",
            "recorded_at": now,
        }
        events.append(
            {
                **ev,
                "name": str(E.CONVERSATION_OPENED),
                "occurred_at": th.tweets[0].created_at,
                "payload": {"channel": CHANNEL, "kind": conv["kind"], "imported": True},
            }
        )
        for t in th.tweets:
            label = next(label_iter) if t.inbound and thread_labels else {}
            msg_rows.append(
                {
                    "workspace_id": workspace_id,
                    "conversation_id": cid,
                    "channel": CHANNEL,
                    "external_id": t.tweet_id,
                    "direction": "in" if t.inbound else "out",
                    "author_identity_id": identity_id
                    if t.inbound and t.author_id == th.customer_id
                    else None,
                    "author_account_id": None if t.inbound else accounts.get(t.author_id),
                    "author_label": t.author_id,
                    "text": t.text,
                    "in_reply_to_external_id": t.in_reply_to,
                    "thread_refs": [],
                    "is_private": False,
                    "is_auto_ack": False,
                    "sent_state": None if t.inbound else "sent",
                    "language": label.get("language"),
                    "triage": label,
                    "created_at": t.created_at,
                    "received_at": now,
                }
            )
            if t.inbound:
                events.append(
                    {
                        **ev,
                        "name": str(E.MESSAGE_RECEIVED),
                        "occurred_at": t.created_at,
                        "payload": {
                            "external_id": t.tweet_id,
                            "channel": CHANNEL,
                            "language": label.get("language"),
                            "kind": label.get("kind"),
                            "sentiment": label.get("sentiment"),
                            "needs_reply": label.get("needs_reply", True),
                        },
                    }
                )
            else:
                report.brand_replies += 1
                events.append(
                    {
                        **ev,
                        "name": str(E.MESSAGE_SENT),
                        "occurred_at": t.created_at,
                        "payload": {
                            "external_id": t.tweet_id,
                            "brand_account_id": accounts.get(t.author_id),
                        },
                    }
                )
        if conv["first_response_at"] is not None:
            events.append(
                {
                    **ev,
                    "name": str(E.FIRST_RESPONSE),
                    "occurred_at": conv["first_response_at"],
                    "payload": {"first_inbound_at": conv["first_inbound_at"].isoformat()},
                }
            )
        events.append(
            {
                **ev,
                "name": str(E.CLOSED),
                "occurred_at": conv["closed_at"],
                "payload": {"imported": True},
            }
        )
    _bulk_insert(session, Message, msg_rows)
    _bulk_insert(session, Event, events)
    report.conversations += len(conv_rows)
    report.messages += len(msg_rows)
