"""Queries of listening rules, brand names/handles and listening counters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.models import ChannelAccount, Counter, ListeningRule, Workspace

# Version tokens live in the counters table: name VERSION, day "w<workspace id>". A change sets
# a fresh random token, so the sum over workspaces changes on every edit (even after a rolled
# back transaction reused the same ids) and one query tells a process its cache is stale.
VERSION = "listening.version"
UNMATCHED = "listening.unmatched"  # + ".<workspace id>.<channel>", per day
MATCHED = "listening.matched"  # + ".<rule id>", per day

# Kinds whose account handle is an @handle in post text (not an address or a page id).
HANDLE_KINDS = frozenset({"x", "mastodon", "generic", "sandbox"})


def version_key(workspace_id: int) -> str:
    return f"w{workspace_id}"


def get_rule(session: Session, rule_id: int) -> ListeningRule | None:
    return session.get(ListeningRule, rule_id)


def rules_of(session: Session, workspace_id: int) -> list[ListeningRule]:
    return list(
        session.execute(
            select(ListeningRule)
            .where(ListeningRule.workspace_id == workspace_id)
            .order_by(ListeningRule.id)
        ).scalars()
    )


def rule_by_name(session: Session, workspace_id: int, name: str) -> ListeningRule | None:
    return session.execute(
        select(ListeningRule).where(
            ListeningRule.workspace_id == workspace_id, ListeningRule.name == name
        )
    ).scalar_one_or_none()


def active_rules(session: Session) -> list[ListeningRule]:
    return list(
        session.execute(
            select(ListeningRule)
            .where(ListeningRule.is_active.is_(True))
            .order_by(ListeningRule.workspace_id, ListeningRule.id)
        ).scalars()
    )


def version_sum(session: Session) -> int:
    total = session.execute(
        select(func.coalesce(func.sum(Counter.value), 0)).where(Counter.name == VERSION)
    ).scalar_one()
    return int(total)


def account_handles(session: Session) -> list[tuple[int, str]]:
    """(workspace id, handle) of every active account whose handle appears as @handle."""
    rows = session.execute(
        select(ChannelAccount.workspace_id, ChannelAccount.handle)
        .where(ChannelAccount.is_active.is_(True), ChannelAccount.kind.in_(HANDLE_KINDS))
        .order_by(ChannelAccount.workspace_id, ChannelAccount.id)
    ).all()
    return [(int(w), str(h)) for w, h in rows]


def workspace_settings(session: Session, workspace_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not workspace_ids:
        return {}
    rows = session.execute(
        select(Workspace.id, Workspace.settings).where(Workspace.id.in_(list(workspace_ids)))
    ).all()
    return {int(i): dict(s or {}) for i, s in rows}


def account_for(session: Session, workspace_id: int, kind: str) -> ChannelAccount | None:
    """The workspace's first active account on a network, to answer a post it heard there."""
    return session.execute(
        select(ChannelAccount)
        .where(
            ChannelAccount.workspace_id == workspace_id,
            ChannelAccount.kind == kind,
            ChannelAccount.is_active.is_(True),
        )
        .order_by(ChannelAccount.id)
        .limit(1)
    ).scalar_one_or_none()


def counters_like(session: Session, prefix: str) -> dict[str, int]:
    """Totals over all days of counters whose name starts with ``prefix``."""
    rows = session.execute(
        select(Counter.name, func.sum(Counter.value))
        .where(Counter.name.startswith(prefix, autoescape=True))
        .group_by(Counter.name)
    ).all()
    return {str(n): int(v) for n, v in rows}


def set_version(session: Session, workspace_id: int, token: int) -> None:
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Counter).values(name=VERSION, day=version_key(workspace_id), value=token)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["name", "day"], set_={"value": token})
    )
