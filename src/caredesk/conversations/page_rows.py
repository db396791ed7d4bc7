"""Plain-column reads for the desk's hot pages (inbox rows, the conversation page's lists).

The inbox rows are ``repository.inbox_rows`` (customer, assignee and team names, the newest
message as a preview) in two queries, for the pages 50 agents reload all day: no ORM objects
(building 50 instances was a third of the inbox's CPU time) and statements built once per
process with bound parameters (building a statement cost more than running it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Integer, Row, Select, Table, bindparam, func, or_, select
from sqlalchemy.orm import Session

from caredesk.conversations.search_excerpt import Excerpt, excerpt
from caredesk.models import (
    Agent,
    CannedResponse,
    Conversation,
    Customer,
    Membership,
    Message,
    Team,
)

PREVIEW_CHARS = 200


@dataclass(frozen=True)
class PageRow:
    """``conversation`` has the chosen conversation columns as attributes (``row.id``...)."""

    conversation: Row[Any]
    customer_name: str
    assignee_name: str | None
    team_name: str | None
    preview: str
    # For a search: the newest matching message, cut around its first hit (``preview`` is
    # then that excerpt's plain text).
    excerpt: Excerpt | None = None


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


@cache
def _rows_statement(columns: tuple[str, ...]) -> Select[Any]:
    conv, cust, agent, team = _t(Conversation), _t(Customer), _t(Agent), _t(Team)
    return (
        select(
            *(conv.c[name] for name in columns),
            cust.c.id.label("_customer_id"),
            cust.c.display_name.label("_customer_name"),
            agent.c.name.label("_assignee_name"),
            team.c.name.label("_team_name"),
        )
        .select_from(
            conv.outerjoin(cust, cust.c.id == conv.c.customer_id)
            .outerjoin(agent, agent.c.id == conv.c.assignee_id)
            .outerjoin(team, team.c.id == conv.c.team_id)
        )
        .where(conv.c.id.in_(bindparam("ids", expanding=True)))
    )


@cache
def _previews_statement(direction: str | None) -> Select[Any]:
    """The newest message per conversation (of one direction when given)."""
    msg = _t(Message)
    newest_q = select(msg.c.conversation_id, func.max(msg.c.id).label("mid")).where(
        msg.c.conversation_id.in_(bindparam("ids", expanding=True))
    )
    if direction is not None:
        newest_q = newest_q.where(msg.c.direction == direction)
    newest = newest_q.group_by(msg.c.conversation_id).subquery()
    return select(msg.c.conversation_id, msg.c.text).join(newest, msg.c.id == newest.c.mid)


@cache
def _messages_statement() -> Select[Any]:
    msg = _t(Message)
    return select(msg.c.conversation_id, msg.c.id, msg.c.text, msg.c.direction).where(
        msg.c.id.in_(bindparam("mids", expanding=True))
    )


def search_excerpts(
    session: Session, ids: Sequence[int], matched: Mapping[int, int], query: str
) -> dict[int, Excerpt]:
    """Excerpts of the messages that matched a search for ``query``, for conversations
    ``ids`` (``matched``: conversation id -> message id), read by primary key in one query
    (cheaper than the newest-per-conversation read it replaces)."""
    mids = [matched[cid] for cid in ids if cid in matched]
    if not mids:
        return {}
    rows = session.execute(_messages_statement(), {"mids": mids})
    return {cid: excerpt(mid, text or "", query, way) for cid, mid, text, way in rows}


def page_rows(
    session: Session,
    ids: Sequence[int],
    columns: tuple[str, ...],
    *,
    preview_direction: str | None = None,
    matched: Mapping[int, int] | None = None,
    query: str = "",
) -> list[PageRow]:
    """Rows for conversations ``ids``, in that order (ids no longer there are left out).
    ``columns`` must include id, customer_id, assignee_id and team_id. ``matched`` (from a
    search for ``query``: conversation id -> matching message id) makes those rows' previews
    excerpts of the matching message instead of the newest one."""
    if not ids:
        return []
    params = {"ids": list(ids)}
    found = {r.id: r for r in session.execute(_rows_statement(columns), params)}
    excerpts = search_excerpts(session, ids, matched, query) if matched else {}
    previews: dict[int, str] = {}
    rest = [cid for cid in ids if cid not in excerpts]
    if rest:
        stmt = _previews_statement(preview_direction)
        previews = {k: v for k, v in session.execute(stmt, {"ids": rest})}
    out = []
    for cid in ids:
        r = found.get(cid)
        if r is None:
            continue
        found_excerpt = excerpts.get(cid)
        out.append(
            PageRow(
                conversation=r,
                customer_name="?" if r._customer_id is None else r._customer_name,
                assignee_name=r._assignee_name if r.assignee_id else None,
                team_name=r._team_name if r.team_id else None,
                preview=(
                    found_excerpt.text
                    if found_excerpt is not None
                    else (previews.get(cid) or "")[:PREVIEW_CHARS]
                ),
                excerpt=found_excerpt,
            )
        )
    return out


# --------------------------------------------------------------------------- conversation page
# What the conversation page lists only to show (names in pickers, earlier conversations):
# plain columns, not ORM objects with their JSON columns decoded.


@cache
def _colleagues_statement() -> Select[Any]:
    agent, member = _t(Agent), _t(Membership)
    return (
        select(agent.c.id, agent.c.name, agent.c.email, agent.c.presence)
        .join(member, member.c.agent_id == agent.c.id)
        .where(member.c.workspace_id == bindparam("ws", type_=Integer), agent.c.is_active)
        .order_by(agent.c.id)
    )


def colleagues(session: Session, workspace_id: int) -> list[Row[Any]]:
    """The workspace's active agents (id, name, email, presence), as ``workspace_agents``."""
    return list(session.execute(_colleagues_statement(), {"ws": workspace_id}))


@cache
def _teams_statement() -> Select[Any]:
    team = _t(Team)
    return (
        select(team.c.id, team.c.name)
        .where(team.c.workspace_id == bindparam("ws", type_=Integer))
        .order_by(team.c.name)
    )


def team_names(session: Session, workspace_id: int) -> list[Row[Any]]:
    """The workspace's teams (id, name) by name."""
    return list(session.execute(_teams_statement(), {"ws": workspace_id}))


@cache
def _canned_statement(with_team: bool) -> Select[Any]:
    canned = _t(CannedResponse)
    stmt = select(canned.c.id, canned.c.shortcut, canned.c.name).where(
        canned.c.workspace_id == bindparam("ws", type_=Integer)
    )
    everyone = canned.c.team_id.is_(None)
    team = canned.c.team_id == bindparam("team", type_=Integer)
    return stmt.where(or_(everyone, team) if with_team else everyone).order_by(canned.c.shortcut)


def canned_choices(session: Session, workspace_id: int, team_id: int | None) -> list[Row[Any]]:
    """Workspace-wide canned responses plus the team's own (id, shortcut, name), as
    ``replies.canned.library``."""
    params = {"ws": workspace_id, "team": team_id}
    return list(session.execute(_canned_statement(team_id is not None), params))


@cache
def _history_statement() -> Select[Any]:
    conv, msg = _t(Conversation), _t(Message)
    # What the customer last wrote in each, read through the (conversation, time) index.
    last_words = (
        select(msg.c.text)
        .where(msg.c.conversation_id == conv.c.id, msg.c.direction == "in")
        .order_by(msg.c.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            conv.c.id,
            conv.c.reference,
            conv.c.channel,
            conv.c.status,
            conv.c.last_message_at,
            last_words.label("last_text"),
        )
        .where(
            conv.c.customer_id == bindparam("customer", type_=Integer),
            conv.c.id != bindparam("current", type_=Integer),
        )
        .order_by(conv.c.last_message_at.desc())
        .limit(bindparam("limit", type_=Integer))
    )


def earlier_conversations(
    session: Session, customer_id: int, current_id: int, limit: int = 10
) -> list[Row[Any]]:
    """The customer's other conversations, newest first (id, reference, channel, status,
    last_message_at, and last_text: the newest text the customer wrote in it, or None)."""
    params = {"customer": customer_id, "current": current_id, "limit": limit}
    return list(session.execute(_history_statement(), params))
