"""Webhook account lookups, cached per process for a few seconds.

Every delivery names its account by (kind, webhook token). Reading the row (and unsealing its
secrets) per delivery cost as much as storing the posts, so a process keeps what it read for
``ttl`` seconds: a deactivated, deleted or re-keyed account stops being accepted at most that
long after the change. Unknown tokens are not cached (a newly created account works at once);
lookup failures (e.g. secrets that cannot be unsealed) are not cached either.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from caredesk.ingest import repository as repo
from caredesk.kit.db import unit_of_work


@dataclass(frozen=True)
class WebhookAccount:
    id: int
    kind: str
    # Adapter configuration: the account's settings and secrets, handle and external id.
    config: dict[str, Any]


def load_account(session: Session, kind: str, token: str) -> WebhookAccount | None:
    account = repo.webhook_account(session, kind, token)
    if account is None:
        return None
    config = {
        **account.config,
        **account.secrets,
        "handle": account.handle,
        "external_id": account.external_id,
    }
    return WebhookAccount(account.id, account.kind, config)


class AccountCache:
    """(kind, token) -> account, each entry trusted for ``ttl`` seconds."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ttl: float,
        *,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._max = max_entries
        self._now = monotonic
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, WebhookAccount]] = {}

    def cached(self, kind: str, token: str) -> WebhookAccount | None:
        """The account if a fresh entry is held (no database access: safe on the event loop)."""
        entry = self._entries.get((kind, token))
        if entry is None or entry[0] <= self._now():
            return None
        return entry[1]

    def get(self, kind: str, token: str) -> WebhookAccount | None:
        """The active account, from the cache or the database (blocking: call off the loop)."""
        found = self.cached(kind, token)
        if found is not None:
            return found
        with unit_of_work(self._sessions) as session:
            found = load_account(session, kind, token)
        if found is not None and self._ttl > 0:
            with self._lock:
                if len(self._entries) >= self._max:  # bounded: start over rather than grow
                    self._entries.clear()
                self._entries[(kind, token)] = (self._now() + self._ttl, found)
        return found

    def forget(self, kind: str, token: str) -> None:
        with self._lock:
            self._entries.pop((kind, token), None)
