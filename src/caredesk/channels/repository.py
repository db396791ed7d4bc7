"""Queries of channel accounts and their poll cursors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, type_coerce
from sqlalchemy.orm import Session

from caredesk.models import ChannelAccount, PollCursor, Workspace
from caredesk.models._types import JsonType

POLL_STREAM = "poll"


def accounts_of(session: Session, workspace_id: int) -> list[ChannelAccount]:
    return list(
        session.execute(
            select(ChannelAccount)
            .where(ChannelAccount.workspace_id == workspace_id)
            .order_by(ChannelAccount.kind, ChannelAccount.handle)
        ).scalars()
    )


def account_by_kind_handle(session: Session, kind: str, handle: str) -> ChannelAccount | None:
    return session.execute(
        select(ChannelAccount).where(ChannelAccount.kind == kind, ChannelAccount.handle == handle)
    ).scalar_one_or_none()


def workspace_by_ref(session: Session, ref: str) -> Workspace | None:
    """A workspace by id (digits) or slug, for the CLI."""
    if ref.isdigit():
        return session.get(Workspace, int(ref))
    return session.execute(select(Workspace).where(Workspace.slug == ref)).scalar_one_or_none()


def webform_account(session: Session, slug: str) -> tuple[Workspace, ChannelAccount] | None:
    """The workspace with this slug and its active contact-form account."""
    row = session.execute(
        select(Workspace, ChannelAccount)
        .join(ChannelAccount, ChannelAccount.workspace_id == Workspace.id)
        .where(
            Workspace.slug == slug,
            ChannelAccount.kind == "webform",
            ChannelAccount.is_active.is_(True),
        )
        .order_by(ChannelAccount.id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def cursor_of(session: Session, account_id: int, *, for_update: bool = False) -> PollCursor | None:
    stmt = select(PollCursor).where(
        PollCursor.channel_account_id == account_id, PollCursor.stream == POLL_STREAM
    )
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def due_polling_accounts(
    session: Session, kinds: frozenset[str], now: datetime, limit: int = 1000
) -> list[int]:
    """Active polling accounts never polled, or whose next poll time has come (accounts set to
    ``polling: false`` — webhook-only ones, the demo's — are left alone)."""
    stmt = (
        select(ChannelAccount.id, ChannelAccount.config)
        .outerjoin(
            PollCursor,
            (PollCursor.channel_account_id == ChannelAccount.id)
            & (PollCursor.stream == POLL_STREAM),
        )
        .where(
            ChannelAccount.is_active.is_(True),
            ChannelAccount.kind.in_(sorted(kinds)),
            or_(
                PollCursor.id.is_(None),
                PollCursor.next_poll_at.is_(None),
                PollCursor.next_poll_at <= now,
            ),
        )
        .order_by(ChannelAccount.id)
        .limit(limit)
    )
    return [
        account_id
        for account_id, config in session.execute(stmt)
        if (config or {}).get("polling", True) is not False
    ]


def stored_secrets(session: Session) -> list[tuple[int, Any]]:
    """(account id, the secrets column exactly as stored), bypassing unsealing."""
    raw = type_coerce(ChannelAccount.secrets, JsonType)  # read as plain JSON, not unsealed
    return [(int(i), v) for i, v in session.execute(select(ChannelAccount.id, raw))]
