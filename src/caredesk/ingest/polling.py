"""Polling channel accounts (X, Mastodon, IMAP) into the durable inbox, never skipping a post.

One poll is three steps, none holding a transaction open across the network call:

1. :func:`do_claim_poll` — take a lease on the account's cursor row (``next_poll_at`` moves
   ``LEASE_SECONDS`` ahead so other workers leave it alone) and read the stored cursor.
2. ``adapter.fetch(cursor)`` — outside any transaction.
3. :func:`do_record_poll` — store the posts (deduplicated on channel + external id) *and* move
   the cursor in the same transaction. If the process dies before that commit, neither happened:
   the next poll (after the lease) starts from the old cursor, re-reads the same posts and the
   inbox absorbs any it already has. The cursor can never get ahead of committed posts.

Rate limits (``retry_after`` from 429 / ``x-rate-limit-reset`` / ``Retry-After``) push
``next_poll_at`` back; other failures back off exponentially up to an hour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from caredesk.channels import repository as channel_repo
from caredesk.channels.base import (
    ChannelAdapter,
    ChannelError,
    FetchResult,
    PermanentChannelError,
    TransientChannelError,
)
from caredesk.channels.registry import POLLING_KINDS, get_adapter
from caredesk.channels.settings import adapter_config, poll_interval
from caredesk.ingest import repository as inbox_repo
from caredesk.ingest.service import do_count_rejection, do_receive
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work
from caredesk.models import ChannelAccount, PollCursor

log = logging.getLogger(__name__)

POLL_JOB = "ingest.poll"
LEASE_SECONDS = 300
MAX_BACKOFF_SECONDS = 3600
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class PollClaim:
    account_id: int
    kind: str
    config: dict[str, Any]
    cursor: str | None
    interval: int


@dataclass
class PollOutcome:
    account_id: int
    # polled | not_due | busy | inactive | missing | not_polling | rate_limited | failed
    status: str
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    next_poll_at: datetime | None = None
    error: str | None = None


def do_claim_poll(
    session: Session, clock: Clock, account_id: int, *, force: bool = False
) -> PollClaim | PollOutcome:
    """Lease the account for one poll, or say why it is not polled now."""
    account = session.get(ChannelAccount, account_id)
    if account is None:
        return PollOutcome(account_id, "missing")
    if not account.is_active:
        return PollOutcome(account_id, "inactive")
    if account.kind not in POLLING_KINDS:
        return PollOutcome(account_id, "not_polling")
    now = clock.now()
    row = channel_repo.cursor_of(session, account_id, for_update=True)
    if row is None:
        row = PollCursor(
            channel_account_id=account_id,
            stream=channel_repo.POLL_STREAM,
            cursor=None,
            failures=0,
        )
        session.add(row)
    elif not force and row.next_poll_at is not None and row.next_poll_at > now:
        return PollOutcome(account_id, "not_due", next_poll_at=row.next_poll_at)
    row.next_poll_at = now + timedelta(seconds=LEASE_SECONDS)
    session.flush()
    return PollClaim(
        account_id=account_id,
        kind=account.kind,
        config=adapter_config(account.config, account.secrets, account.handle, account.external_id),
        cursor=row.cursor,
        interval=poll_interval(account.kind, account.config),
    )


def do_record_poll(
    session: Session, clock: Clock, claim: PollClaim, fetched: FetchResult
) -> PollOutcome:
    """Store the fetched posts and advance the cursor — one transaction, so both or neither."""
    # A listening account (search/keyword polling) keeps only what a listening rule matches.
    source = "listening" if claim.config.get("source") == "listening" else "account"
    received = do_receive(
        session, clock, fetched.posts, channel_account_id=claim.account_id, source=source
    )
    stream_errors: list[str] = []
    for reason, raw in fetched.rejected:
        # A whole stream failing (one of several) comes back as a rejection naming the stream.
        if isinstance(raw, dict) and set(raw) == {"stream"}:
            stream_errors.append(reason)
            do_count_rejection(session, clock, claim.kind, "stream_error")
        else:
            log.warning("poll of account %s rejected an item: %s", claim.account_id, reason)
            do_count_rejection(session, clock, claim.kind, "malformed")
    now = clock.now()
    row = channel_repo.cursor_of(session, claim.account_id, for_update=True)
    if row is None:  # deleted meanwhile (account removed): the posts are still kept
        return PollOutcome(claim.account_id, "missing", stored=len(received.stored))
    # Compare-and-set: if another poller moved the cursor on meanwhile, keep theirs.
    if row.cursor == claim.cursor and fetched.next_cursor is not None:
        row.cursor = fetched.next_cursor
    row.last_polled_at = now
    row.failures = 0
    row.last_error = "; ".join(stream_errors)[:MAX_ERROR_CHARS] or None
    row.next_poll_at = now + timedelta(seconds=claim.interval)
    return PollOutcome(
        claim.account_id,
        "polled",
        stored=len(received.stored),
        duplicates=received.duplicates,
        rejected=len(fetched.rejected),
        next_poll_at=row.next_poll_at,
        error=row.last_error,
    )


def do_record_poll_failure(
    session: Session, clock: Clock, claim: PollClaim, exc: ChannelError
) -> PollOutcome:
    """Keep the cursor; schedule the next try after the rate-limit reset or a back-off."""
    now = clock.now()
    row = channel_repo.cursor_of(session, claim.account_id, for_update=True)
    failures = (row.failures if row else 0) + 1
    retry_after = exc.retry_after if isinstance(exc, TransientChannelError) else None
    if retry_after is not None:
        status = "rate_limited"
        delay = max(float(claim.interval), float(retry_after))
    else:
        status = "failed"
        delay = float(min(MAX_BACKOFF_SECONDS, claim.interval * 2 ** min(failures, 10)))
        if isinstance(exc, PermanentChannelError):
            # Bad credentials or settings: no point hammering the network until someone fixes it.
            delay = float(MAX_BACKOFF_SECONDS)
    delay = min(delay, 24 * 3600.0)
    inbox_repo.bump_counter(session, f"poll.{status}.{claim.kind}", now.date().isoformat())
    next_at = now + timedelta(seconds=delay)
    if row is not None:
        row.failures = failures
        row.last_error = f"{exc.__class__.__name__}: {exc}"[:MAX_ERROR_CHARS]
        row.next_poll_at = next_at
    log.warning("poll of account %s %s: %s", claim.account_id, status, exc)
    return PollOutcome(claim.account_id, status, next_poll_at=next_at, error=str(exc))


def poll_account(
    sessions: sessionmaker[Session],
    clock: Clock,
    account_id: int,
    *,
    force: bool = False,
    adapter: ChannelAdapter | None = None,
) -> PollOutcome:
    """Poll one account now (if due, or ``force``). Safe to run twice or concurrently."""
    try:
        with unit_of_work(sessions) as session:
            claimed = do_claim_poll(session, clock, account_id, force=force)
    except IntegrityError:
        # Another worker created the cursor row at the same moment: it is polling.
        return PollOutcome(account_id, "busy")
    if isinstance(claimed, PollOutcome):
        return claimed
    plugin = adapter or get_adapter(claimed.kind)
    try:
        fetched = plugin.fetch(claimed.cursor, claimed.config)
    except Exception as exc:  # any failure is recorded; the cursor stays put
        error = exc if isinstance(exc, ChannelError) else TransientChannelError(repr(exc))
        with unit_of_work(sessions) as session:
            return do_record_poll_failure(session, clock, claimed, error)
    with unit_of_work(sessions) as session:
        return do_record_poll(session, clock, claimed, fetched)


def due_accounts(sessions: sessionmaker[Session], clock: Clock) -> list[int]:
    with unit_of_work(sessions) as session:
        return channel_repo.due_polling_accounts(session, POLLING_KINDS, clock.now())
