"""Inbox queries for the agent's desk: queues with counts, filters, sort, enriched rows.

Read-only; the page handler in ``web.pages`` only parses the query string and renders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    func,
    select,
)
from sqlalchemy.orm import Session

from caredesk.conversations.page_rows import PageRow, page_rows
from caredesk.conversations.search import text_search_match
from caredesk.models import (
    ChannelAccount,
    Conversation,
    FollowUp,
    Team,
    TeamMember,
)
from caredesk.models.conversation import OPEN_STATUSES

# (key, English label); labels go through gettext in the template.
QUEUES = (
    ("mine", "Mine"),
    ("team", "My team"),
    ("unassigned", "Unassigned"),
    ("sales", "Sales leads"),
    ("breaching", "Breaching soon"),
    ("followups", "Follow-ups due"),
    ("open", "All open"),
    ("all", "Everything"),
)
SORTS = (
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("sla", "Time left on SLA"),
    ("priority", "Priority"),
)
BREACHING_WINDOW = timedelta(minutes=30)
# The languages triage tells apart, plus "und" (could not tell).
FILTER_LANGUAGES = ("en", "da", "hi", "ur", "te", "und")
PAGE_SIZE = 50
PRIORITY_ORDER = ("urgent", "high", "normal", "low")
# The conversation columns an inbox row uses (templates/inbox_rows.html).
ROW_COLUMNS = (
    "id", "workspace_id", "number", "reference", "customer_id", "channel", "status", "priority",
    "kind", "language", "sentiment", "needs_reply", "unaddressed", "is_private", "team_id",
    "assignee_id", "subject", "last_message_at", "sla_due_at", "created_at",
)  # fmt: skip
# Queue counts stop here and show as "999+".
COUNT_CAP = 999
# Queues whose open conversations an index finds directly (see ``_query``).
NARROW_QUEUES = ("mine", "team", "unassigned")


@dataclass(frozen=True)
class InboxQuery:
    queue: str = "open"
    channel: str = ""
    language: str = ""
    kind: str = ""
    priority: str = ""
    status: str = ""
    team: int | None = None
    tag: str = ""
    text: str = ""
    sort: str = "newest"

    def as_params(self) -> dict[str, Any]:
        """Non-empty filters, for links that keep them (queue tabs, sort)."""
        return {
            k: v
            for k, v in self.__dict__.items()
            if v not in ("", None) and k != "queue" and not (k == "sort" and v == "newest")
        }


def my_team_ids(session: Session, agent_id: int) -> list[int]:
    return list(
        session.execute(select(TeamMember.team_id).where(TeamMember.agent_id == agent_id)).scalars()
    )


def _open() -> ColumnElement[bool]:
    return Conversation.status.in_(OPEN_STATUSES)


def _queue_condition(
    queue: str, agent_id: int, team_ids: list[int], now: datetime
) -> ColumnElement[bool] | None:
    return _condition(queue, agent_id, team_ids or [-1], now, now + BREACHING_WINDOW)


def _condition(
    queue: str, agent: Any, team_ids: Any, now: Any, breaching_before: Any
) -> ColumnElement[bool] | None:
    """A queue's condition from values, or from bound parameters (``_counts_statement``)."""
    if queue == "mine":
        return and_(Conversation.assignee_id == agent, _open())
    if queue == "team":
        return and_(Conversation.team_id.in_(team_ids), _open())
    if queue == "unassigned":
        return and_(Conversation.assignee_id.is_(None), _open())
    if queue == "sales":
        return and_(Conversation.kind == "sales", _open())
    if queue == "breaching":
        return and_(_open(), Conversation.sla_due_at <= breaching_before)
    if queue == "followups":
        return Conversation.id.in_(
            select(FollowUp.conversation_id).where(
                FollowUp.agent_id == agent,
                FollowUp.status.in_(("scheduled", "missed")),
                FollowUp.due_at <= now,
            )
        )
    if queue == "open":
        return _open()
    return None


def _query(
    session: Session,
    workspace_ids: tuple[int, ...],
    q: InboxQuery,
    agent_id: int,
    team_ids: list[int],
    now: datetime,
) -> tuple[Select[int], dict[int, int]]:
    """The page's query of conversation ids, and for a text search each matching
    conversation's newest matching message (its row shows that message, not the newest)."""
    dialect = session.get_bind().dialect.name
    scope: Any = Conversation.workspace_id
    if dialect == "sqlite" and q.queue in NARROW_QUEUES:
        # With bound parameters SQLite cannot tell that an agent's (or a team's, or the
        # unassigned) open conversations are few, so it walks the whole workspace newest-first
        # to fill a page (15 ms at 50k conversations). "workspace_id + 0" is not indexable, so
        # it takes the (assignee|team, status) index and sorts those few rows instead (~1 ms).
        scope = Conversation.workspace_id + 0
    # Ids only: the queue indexes hold every column these filters and orders need, so a page
    # of ids comes from the index alone; ``rows`` then reads just those 50 conversations.
    stmt = select(Conversation.id).where(scope.in_(workspace_ids))
    cond = _queue_condition(q.queue, agent_id, team_ids, now)
    if cond is not None:
        stmt = stmt.where(cond)
    for column, value in (
        (Conversation.status, q.status),
        (Conversation.channel, q.channel),
        (Conversation.language, q.language),
        (Conversation.kind, q.kind),
        (Conversation.priority, q.priority),
    ):
        if value:
            stmt = stmt.where(column == value)
    if q.team is not None:
        stmt = stmt.where(Conversation.team_id == q.team)
    if q.tag:
        # Tags are a JSON list; its text form holds each tag as a quoted string.
        needle = q.tag.strip().replace("\\", "").replace('"', "")
        stmt = stmt.where(cast(Conversation.tags, String).like(f'%"{needle}"%'))
    if q.text.strip():
        match = text_search_match(session, workspace_ids, q.text, within=stmt)
        return stmt.where(match.condition), match.message_ids
    return stmt, {}


def _in_turn(session: Session, parts: Iterable[Select[int]], limit: int) -> list[int]:
    """Ids from each ordered part in turn until ``limit`` (later parts are not run)."""
    found: list[int] = []
    for part in parts:
        if len(found) >= limit:
            break
        found += session.execute(part.limit(limit - len(found))).scalars()
    return found


def _order(stmt: Select[int], sort: str) -> Select[int]:
    if sort == "oldest":
        return stmt.order_by(Conversation.last_message_at.asc(), Conversation.id)
    return stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())


def _page(session: Session, stmt: Select[int], sort: str, limit: int) -> list[int]:
    """One page in the chosen order. "Time left on SLA" and "priority" are read as a few
    index-ordered slices (SLA due times, then the rest newest first; one slice per priority)
    and joined in Python: ordering by a computed key ("is null", a CASE rank) would sort the
    whole queue, a million rows for "Everything"."""
    if sort == "sla":
        return _in_turn(
            session,
            (
                stmt.where(Conversation.sla_due_at.is_not(None)).order_by(
                    Conversation.sla_due_at.asc(), Conversation.id
                ),
                _order(stmt.where(Conversation.sla_due_at.is_(None)), "newest"),
            ),
            limit,
        )
    if sort == "priority":
        slices = [stmt.where(Conversation.priority == v) for v in PRIORITY_ORDER]
        slices.append(stmt.where(Conversation.priority.not_in(PRIORITY_ORDER)))
        return _in_turn(session, (_order(part, "newest") for part in slices), limit)
    return list(session.execute(_order(stmt, sort).limit(limit)).scalars())


def rows(
    session: Session,
    workspace_ids: tuple[int, ...],
    q: InboxQuery,
    agent_id: int,
    now: datetime,
    *,
    limit: int = PAGE_SIZE,
    team_ids: list[int] | None = None,
) -> list[PageRow]:
    """``team_ids``: the agent's teams when the caller has them already."""
    if team_ids is None:
        team_ids = my_team_ids(session, agent_id)
    stmt, matched = _query(session, workspace_ids, q, agent_id, team_ids, now)
    ids = _page(session, stmt, q.sort, limit)
    if not ids:
        return []
    # Plain columns, not ORM objects, for just what a row shows (templates/inbox_rows.html).
    # The preview is what the customer last wrote, not our reply; for a search, the newest
    # message that matched, so the agent sees why the conversation is listed.
    return page_rows(
        session, ids, ROW_COLUMNS, preview_direction="in", matched=matched, query=q.text
    )


def counts(
    session: Session,
    workspace_ids: tuple[int, ...],
    agent_id: int,
    now: datetime,
    *,
    team_ids: list[int] | None = None,
) -> dict[str, int]:
    """Every queue's size, counted up to ``COUNT_CAP + 1`` ("999+"): exact counts of a
    workspace's whole history (a million conversations) cost a scan per page view, and nobody
    works a queue by its fourth digit. Each count stops at the cap inside an index."""
    if team_ids is None:
        team_ids = my_team_ids(session, agent_id)
    stmt = _counts_statement(session.get_bind().dialect.name)
    values = session.execute(
        stmt,
        {
            "workspace_ids": list(workspace_ids),
            "agent_id": agent_id,
            "team_ids": team_ids or [-1],
            "now": now,
            "breaching_before": now + BREACHING_WINDOW,
            "cap": COUNT_CAP + 1,
        },
    ).one()
    return {key: int(v) for (key, _), v in zip(QUEUES, values, strict=True)}


@cache
def _counts_statement(dialect: str) -> Select[Any]:
    """Built once per process with bound parameters: building the eight capped counts anew on
    every page view cost four times what the database took to answer them."""
    agent = bindparam("agent_id", type_=Integer)
    teams: Any = bindparam("team_ids", expanding=True)
    now: Any = bindparam("now")
    breaching_before: Any = bindparam("breaching_before")
    cap = bindparam("cap", type_=Integer)
    columns = []
    for key, _ in QUEUES:
        scope: Any = Conversation.workspace_id
        if dialect == "sqlite" and key in NARROW_QUEUES:
            scope = Conversation.workspace_id + 0  # as in _query: take the assignee/team index
        stmt = select(Conversation.id).where(scope.in_(bindparam("workspace_ids", expanding=True)))
        cond = _condition(key, agent, teams, now, breaching_before)
        if cond is not None:
            stmt = stmt.where(cond)
        capped = stmt.limit(cap).subquery()
        columns.append(select(func.count()).select_from(capped).scalar_subquery())
    # One statement, one round trip: each count is its own capped index read.
    return select(*columns)


def filter_choices(session: Session, workspace_ids: tuple[int, ...]) -> dict[str, list[Any]]:
    """Values offered in the filter bar. Channels come from the workspace's accounts (plus the
    web form and email) and languages from the supported set: both cheap at any inbox size."""
    accounts_q, teams_q = _choice_statements()
    params = {"workspace_ids": list(workspace_ids)}
    kinds = set(session.execute(accounts_q, params).scalars())
    if "meta" in kinds:  # one Meta account carries both networks
        kinds |= {"facebook", "instagram"}
    channels = sorted((kinds - {"meta"}) | {"email", "webform"})
    teams = list(session.execute(teams_q, params))
    return {"channels": channels, "languages": list(FILTER_LANGUAGES), "teams": teams}


@cache
def _choice_statements() -> tuple[Select[Any], Select[Any]]:
    workspaces: Any = bindparam("workspace_ids", expanding=True)
    accounts: Any = ChannelAccount.__table__
    teams: Any = Team.__table__
    return (
        select(accounts.c.kind).where(accounts.c.workspace_id.in_(workspaces)).distinct(),
        select(teams.c.id, teams.c.name)
        .where(teams.c.workspace_id.in_(workspaces))
        .order_by(teams.c.name),
    )
