"""Queries for customers, identities, conversations and messages."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal_column,
    select,
    table,
    update,
)
from sqlalchemy import column as sa_column
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from caredesk.channels.registry import threading_kinds
from caredesk.models import (
    Agent,
    ChannelAccount,
    Conversation,
    Customer,
    Identity,
    Message,
    Team,
    Workspace,
)
from caredesk.models.conversation import OPEN_STATUSES


def get_workspace(session: Session, workspace_id: int) -> Workspace | None:
    return session.get(Workspace, workspace_id)


def workspace_by_name(session: Session, name: str) -> Workspace | None:
    return session.execute(select(Workspace).where(Workspace.name == name)).scalar_one_or_none()


def workspace_by_slug(session: Session, slug: str) -> Workspace | None:
    return session.execute(select(Workspace).where(Workspace.slug == slug)).scalar_one_or_none()


def take_conversation_number(session: Session, workspace_id: int) -> int:
    """Atomically reserve the next per-workspace conversation number."""
    number = session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(next_conversation_number=Workspace.next_conversation_number + 1)
        .returning(Workspace.next_conversation_number)
    ).scalar_one()
    return int(number) - 1


def account_by_token(session: Session, kind: str, token: str) -> ChannelAccount | None:
    return session.execute(
        select(ChannelAccount).where(
            ChannelAccount.kind == kind,
            ChannelAccount.webhook_token == token,
            ChannelAccount.is_active.is_(True),
        )
    ).scalar_one_or_none()


def account_by_handle(session: Session, kind: str, handle: str) -> ChannelAccount | None:
    return session.execute(
        select(ChannelAccount).where(ChannelAccount.kind == kind, ChannelAccount.handle == handle)
    ).scalar_one_or_none()


def accounts_of(session: Session, workspace_id: int) -> Sequence[ChannelAccount]:
    return (
        session.execute(
            select(ChannelAccount)
            .where(ChannelAccount.workspace_id == workspace_id)
            .order_by(ChannelAccount.kind, ChannelAccount.handle)
        )
        .scalars()
        .all()
    )


def find_identity(
    session: Session, workspace_id: int, channel: str, external_id: str
) -> Identity | None:
    return session.execute(
        select(Identity).where(
            Identity.workspace_id == workspace_id,
            Identity.channel == channel,
            Identity.external_id == external_id,
        )
    ).scalar_one_or_none()


def find_message(
    session: Session, workspace_id: int, channel: str, external_id: str
) -> Message | None:
    return session.execute(
        select(Message).where(
            Message.workspace_id == workspace_id,
            Message.channel == channel,
            Message.external_id == external_id,
        )
    ).scalar_one_or_none()


def find_message_any(
    session: Session, workspace_id: int, channel: str, external_ids: Sequence[str]
) -> Message | None:
    """The newest message of the workspace with one of ``external_ids``, on ``channel`` or a
    channel sharing its id namespace (an email answering a web-form reply)."""
    if not external_ids:
        return None
    return (
        session.execute(
            select(Message)
            .where(
                Message.workspace_id == workspace_id,
                Message.channel.in_(threading_kinds(channel)),
                Message.external_id.in_(list(external_ids)),
            )
            .order_by(Message.created_at.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def latest_unresolved_for_customer(
    session: Session,
    workspace_id: int,
    customer_id: int,
    since: datetime,
    *,
    channel: str | None = None,
) -> Conversation | None:
    # Solved still waits for the customer's confirmation (S20): writing again reopens it.
    stmt = select(Conversation).where(
        Conversation.workspace_id == workspace_id,
        Conversation.customer_id == customer_id,
        Conversation.status.in_((*OPEN_STATUSES, "solved")),
        Conversation.last_message_at >= since,
    )
    if channel is not None:
        stmt = stmt.where(Conversation.channel == channel)
    return (
        session.execute(stmt.order_by(Conversation.last_message_at.desc()).limit(1))
        .scalars()
        .first()
    )


def get_conversation(session: Session, conversation_id: int) -> Conversation | None:
    return session.get(Conversation, conversation_id)


def messages_of(session: Session, conversation_id: int) -> Sequence[Message]:
    return (
        session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.created_at, Message.id)
        )
        .scalars()
        .all()
    )


def conversations_of_customer(session: Session, customer_id: int) -> Sequence[Conversation]:
    return (
        session.execute(
            select(Conversation)
            .where(Conversation.customer_id == customer_id)
            .order_by(Conversation.last_message_at.desc())
        )
        .scalars()
        .all()
    )


def identities_of(session: Session, customer_id: int) -> Sequence[Identity]:
    return (
        session.execute(select(Identity).where(Identity.customer_id == customer_id)).scalars().all()
    )


@dataclass(frozen=True)
class InboxRow:
    conversation: Conversation
    customer_name: str
    assignee_name: str | None
    team_name: str | None
    preview: str


@dataclass(frozen=True)
class InboxFilter:
    workspace_ids: tuple[int, ...]
    queue: str = "all"  # all | mine | unassigned | sales | open | closed
    agent_id: int | None = None
    status: str | None = None
    channel: str | None = None
    language: str | None = None
    kind: str | None = None
    priority: str | None = None
    text: str | None = None
    limit: int = 50
    offset: int = 0


_PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def _inbox_query(f: InboxFilter, session: Session) -> Select[Conversation]:
    stmt = select(Conversation).where(Conversation.workspace_id.in_(f.workspace_ids))
    if f.queue == "mine" and f.agent_id is not None:
        stmt = stmt.where(
            Conversation.assignee_id == f.agent_id, Conversation.status.in_(OPEN_STATUSES)
        )
    elif f.queue == "unassigned":
        stmt = stmt.where(
            Conversation.assignee_id.is_(None), Conversation.status.in_(OPEN_STATUSES)
        )
    elif f.queue == "sales":
        stmt = stmt.where(Conversation.kind == "sales", Conversation.status.in_(OPEN_STATUSES))
    elif f.queue == "open":
        stmt = stmt.where(Conversation.status.in_(OPEN_STATUSES))
    elif f.queue == "closed":
        stmt = stmt.where(Conversation.status.in_(("solved", "closed")))
    for column, value in (
        (Conversation.status, f.status),
        (Conversation.channel, f.channel),
        (Conversation.language, f.language),
        (Conversation.kind, f.kind),
        (Conversation.priority, f.priority),
    ):
        if value:
            stmt = stmt.where(column == value)
    if f.text and f.text.strip():
        stmt = stmt.where(text_search(session, f.workspace_ids, f.text))
    return stmt


def _pairs(session: Session, stmt: Select[int, str]) -> dict[int, str]:
    return {key: value for key, value in session.execute(stmt)}


def inbox(session: Session, f: InboxFilter) -> list[InboxRow]:
    stmt = _inbox_query(f, session).order_by(Conversation.last_message_at.desc()).limit(f.limit)
    return inbox_rows(session, session.execute(stmt.offset(f.offset)).scalars().all())


def inbox_rows(
    session: Session,
    conversations: Sequence[Conversation],
    *,
    preview_direction: str | None = None,
) -> list[InboxRow]:
    """Rows for a page of conversations: names of customer, assignee and team, and the text
    of the newest message (of ``preview_direction`` "in"/"out" when given), in four queries."""
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    customers = _pairs(
        session,
        select(Customer.id, Customer.display_name).where(
            Customer.id.in_({c.customer_id for c in conversations})
        ),
    )
    agent_ids = {c.assignee_id for c in conversations if c.assignee_id}
    agents = (
        _pairs(session, select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids)))
        if agent_ids
        else {}
    )
    team_ids = {c.team_id for c in conversations if c.team_id}
    teams = (
        _pairs(session, select(Team.id, Team.name).where(Team.id.in_(team_ids))) if team_ids else {}
    )
    # The newest message per conversation, in one query.
    newest_q = select(Message.conversation_id, func.max(Message.id).label("mid")).where(
        Message.conversation_id.in_(ids)
    )
    if preview_direction is not None:
        newest_q = newest_q.where(Message.direction == preview_direction)
    newest = newest_q.group_by(Message.conversation_id).subquery()
    previews = _pairs(
        session,
        select(Message.conversation_id, Message.text).join(newest, Message.id == newest.c.mid),
    )
    return [
        InboxRow(
            conversation=c,
            customer_name=customers.get(c.customer_id, "?"),
            assignee_name=agents.get(c.assignee_id) if c.assignee_id else None,
            team_name=teams.get(c.team_id) if c.team_id else None,
            preview=(previews.get(c.id) or "")[:200],
        )
        for c in conversations
    ]


# --------------------------------------------------------------------------- full-text search
#
# Semantics (both databases): the query is cut into words at spaces and punctuation (Unicode
# letters, combining marks and digits make a word, so Hindi/Urdu/Telugu words stay whole); a
# conversation matches when ONE of its messages contains EVERY word, case-insensitively, each
# word also matching as the start of a longer word when it has 3+ characters ("rout" finds
# "router"; "ORD00042" finds "ORD0004217"). SQLite also folds diacritics ("cafe" finds
# "café"); PostgreSQL's 'simple' configuration does not. A query shaped like a conversation
# reference ("B1-42") finds that conversation by its number. Substrings inside a word are not
# searched: no index makes that cheap at millions of messages.

SEARCH_MAX_WORDS = 8
# Only the newest this many matching messages are looked at (message ids grow with arrival):
# a word that common (the bench's "app") gets its newest conversations, and older ones are
# reached by adding words or filters. Rare words (names, order numbers) are found however old.
SEARCH_HIT_CAP = 2_000
# PostgreSQL: the newest messages are searched first in windows of this many ids, widened
# tenfold until enough conversations match; GIN gives no order, and sorting every hit of a
# common word (200,000 at 3M messages) would read them all from the heap.
PG_FIRST_WINDOW = 100_000
# PostgreSQL: a query its statistics expect in this many messages or more counts as common.
PG_COMMON_HITS = 20_000
ENOUGH_CONVERSATIONS = 50
_REFERENCE = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9})-(\d{1,9})$")
_FTS = table("messages_fts", sa_column("rowid"))


def search_words(text: str) -> list[str]:
    """The words of a search query, lower-cased (same cut as SQLite's unicode61 tokenizer)."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if unicodedata.category(ch)[0] in "LMN":
            current.append(ch)
        elif current:
            words.append("".join(current).lower())
            current = []
    if current:
        words.append("".join(current).lower())
    return words[:SEARCH_MAX_WORDS]


def _fts5_query(words: list[str]) -> str:
    # Words hold only letters, marks and digits, so quoting them cannot break the syntax.
    return " ".join(f'"{w}"*' if len(w) >= 3 else f'"{w}"' for w in words)


def _tsquery(words: list[str]) -> str:
    return " & ".join(f"{w}:*" if len(w) >= 3 else w for w in words)


def _sqlite_hits(session: Session, workspace_ids: tuple[int, ...], words: list[str]) -> list[int]:
    match = sql_text("messages_fts MATCH :fts_query").bindparams(fts_query=_fts5_query(words))
    # FTS5 reads its doclists backwards for ORDER BY rowid DESC and stops at the limit.
    hits = select(_FTS.c.rowid).where(match).order_by(_FTS.c.rowid.desc()).limit(SEARCH_HIT_CAP)
    return list(
        session.execute(
            select(Message.conversation_id)
            .where(Message.id.in_(hits), Message.workspace_id.in_(workspace_ids))
            .distinct()
        ).scalars()
    )


def _pg_hits(session: Session, workspace_ids: tuple[int, ...], words: list[str]) -> list[int]:
    query = _tsquery(words)
    matches = func.to_tsvector(literal_column("'simple'"), Message.text).op("@@")(
        func.to_tsquery(literal_column("'simple'"), query)
    )
    # How many messages the planner's statistics expect to match decides the plan, which the
    # planner itself gets wrong either way round: a common word ("app": ~170,000 of 3M) is
    # found fastest by reading the newest messages and testing each, as a merge of its GIN
    # posting lists alone costs 0.3-1 s; a rare one (an order number) only through the index.
    plan = session.execute(
        sql_text(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM messages"
            " WHERE to_tsvector('simple', text) @@ to_tsquery('simple', :q)"
        ),
        {"q": query},
    ).scalar_one()
    expected = float(plan[0]["Plan"]["Plan Rows"])
    common = expected >= PG_COMMON_HITS
    # Plan settings for these statements only (SET LOCAL ends with the transaction at the
    # latest; they are put back right after). Parallel workers cost more to start than the
    # short newest-first walk takes. For a rare word the planner would also walk the primary
    # key for the id window; without plain index scans it ANDs the GIN hits with the window.
    steer = ("enable_bitmapscan",) if common else ("enable_indexscan",)
    top = 0 if common else session.execute(select(func.max(Message.id))).scalar_one() or 0
    for name in (*steer, "max_parallel_workers_per_gather"):
        session.execute(sql_text(f"SET LOCAL {name} = 0"))
    try:
        if not common:
            return _pg_windows(session, matches, workspace_ids, top, PG_FIRST_WINDOW)
        found = (
            session.execute(
                select(Message.conversation_id)
                .where(matches, Message.workspace_id.in_(workspace_ids))
                .order_by(Message.id.desc())
                .limit(2 * ENOUGH_CONVERSATIONS)
            )
            .scalars()
            .all()
        )
        return list(dict.fromkeys(found))
    finally:
        for name in (*steer, "max_parallel_workers_per_gather"):
            session.execute(sql_text(f"SET LOCAL {name} TO DEFAULT"))


def _pg_windows(
    session: Session,
    matches: ColumnElement[bool],
    workspace_ids: tuple[int, ...],
    top: int,
    window: int,
) -> list[int]:
    while True:
        stmt = select(Message.conversation_id).where(
            matches, Message.workspace_id.in_(workspace_ids)
        )
        if window < top:
            stmt = stmt.where(Message.id > top - window)
        # "id + 0": never walk the primary key newest-first computing to_tsvector per row (the
        # planner's choice when it misjudges a word): a bitmap of GIN hits (and the id range).
        found = (
            session.execute(stmt.order_by((Message.id + 0).desc()).limit(SEARCH_HIT_CAP))
            .scalars()
            .all()
        )
        ids = list(dict.fromkeys(found))
        if window >= top or len(found) >= SEARCH_HIT_CAP or len(ids) >= ENOUGH_CONVERSATIONS:
            return ids
        window *= 10


def text_search(session: Session, workspace_ids: tuple[int, ...], text: str) -> ColumnElement[bool]:
    """Condition on ``Conversation``: it matches the search ``text`` (see the semantics above).
    Runs the full-text look-up now (scoped to ``workspace_ids``) and returns the matching
    conversations by id; callers still scope and permission-check the conversations."""
    ref = _REFERENCE.match(text.strip())
    if ref:
        # (workspace_id, number) is unique and indexed; the reference text confirms the prefix.
        return and_(
            Conversation.number == int(ref.group(2)),
            func.upper(Conversation.reference) == text.strip().upper(),
        )
    words = search_words(text)
    if not words:
        return literal_column("1") == 0
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return Conversation.id.in_(_sqlite_hits(session, workspace_ids, words))
    if dialect == "postgresql":
        return Conversation.id.in_(_pg_hits(session, workspace_ids, words))
    pattern = "%" + "%".join(words) + "%"
    return exists().where(
        Message.conversation_id == Conversation.id, func.lower(Message.text).like(pattern)
    )
