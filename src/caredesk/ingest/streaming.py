"""Streaming intake: one open connection per configured stream, every post stored as it arrives.

An account with ``stream: true`` (X filtered stream; Mastodon user + hashtag streams) gets one
:class:`StreamRunner` thread per stream, run by :class:`StreamSupervisor` in its own process
(``caredesk channels stream``; ``serve``/``worker`` never open streams). A runner:

- connects, and after every successful (re)connect triggers one poll of the account: X's stream
  has no replay on normal tiers and Mastodon's none at all, so polling's ``since_id``/``min_id``
  cursor backfills whatever was said while we were away (the inbox dedupes the overlap);
- stores each received post with ``do_receive`` in its own unit of work *before* reading on; if
  the database is down it retries that same post, so nothing received is dropped;
- counts malformed lines (``do_count_rejection``) and carries on;
- calls a connection dead after 3x the heartbeat interval without a byte (read timeout);
- reconnects with X's documented back-off: linear from 250 ms to 16 s for network errors,
  exponential from 5 s to 320 s for HTTP errors, from 1 minute (doubling, or the server's reset
  time if later) for 429; the back-off resets once a connection delivers something;
- falls back to polling the account when the server has no streaming (Mastodon 404/501) and
  tries streaming again every ``RECHECK_SECONDS``.

Regular polling keeps running next to streams as the safety net; duplicates cost nothing.
The per-stream loop is :mod:`caredesk.ingest.stream_runner`; this module picks the streams.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from caredesk.channels.base import ChannelError
from caredesk.channels.mastodon import stream as mastodon_stream
from caredesk.channels.settings import adapter_config, poll_interval
from caredesk.channels.x import stream as x_stream
from caredesk.ingest.polling import poll_account
from caredesk.ingest.service import flush_pending_jobs
from caredesk.ingest.stream_runner import (
    Backoff,
    Poll,
    StreamRunner,
    StreamStats,
    StreamTarget,
)
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import CaredeskError
from caredesk.models import ChannelAccount

__all__ = ["Backoff", "StreamRunner", "StreamStats", "StreamSupervisor", "load_specs"]

log = logging.getLogger(__name__)


def _x_targets(config: Mapping[str, Any]) -> Sequence[StreamTarget]:
    return x_stream.stream_targets(config)


def _mastodon_targets(config: Mapping[str, Any]) -> Sequence[StreamTarget]:
    return mastodon_stream.stream_targets(config)


# kind -> the channel's stream description (what to open, how to read it).
TARGETS: dict[str, Callable[[Mapping[str, Any]], Sequence[StreamTarget]]] = {
    "x": _x_targets,
    "mastodon": _mastodon_targets,
}


@dataclass(frozen=True)
class StreamSpec:
    account_id: int
    kind: str
    target: StreamTarget
    fingerprint: str
    poll_allowed: bool
    poll_every: float

    @property
    def key(self) -> tuple[int, str]:
        return (self.account_id, self.target.name)


def load_specs(
    session: Session, account_id: int | None = None
) -> tuple[list[StreamSpec], list[str]]:
    """The streams configured now (active accounts with ``stream: true``) and any problems."""
    stmt = select(ChannelAccount).where(
        ChannelAccount.is_active.is_(True), ChannelAccount.kind.in_(sorted(TARGETS))
    )
    if account_id is not None:
        stmt = stmt.where(ChannelAccount.id == account_id)
    specs: list[StreamSpec] = []
    problems: list[str] = []
    seen_connections: dict[str, int] = {}
    for account in session.execute(stmt.order_by(ChannelAccount.id)).scalars():
        if (account.config or {}).get("stream") is not True:
            continue
        try:
            config = adapter_config(
                account.config, account.secrets, account.handle, account.external_id
            )
            targets = TARGETS[account.kind](config)
        except (ChannelError, CaredeskError) as exc:  # missing token, unreadable secrets...
            problems.append(f"account {account.id} ({account.kind}:{account.handle}): {exc}")
            continue
        digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
        for target in targets:
            # One app = one filtered stream: X refuses a second connection (429).
            conn = hashlib.sha256(
                json.dumps([target.url, dict(target.params), dict(target.headers)]).encode()
            ).hexdigest()
            if conn in seen_connections:
                problems.append(
                    f"account {account.id} {target.name}: same stream as account "
                    f"{seen_connections[conn]}; opened once"
                )
                continue
            seen_connections[conn] = account.id
            specs.append(
                StreamSpec(
                    account_id=account.id,
                    kind=account.kind,
                    target=target,
                    fingerprint=digest.hexdigest(),
                    poll_allowed=(account.config or {}).get("polling", True) is not False,
                    poll_every=float(poll_interval(account.kind, account.config or {})),
                )
            )
    if account_id is not None and not specs and not problems:
        problems.append(f"account {account_id} is not an active x/mastodon account with stream on")
    return specs, problems


class StreamSupervisor:
    """Runs a :class:`StreamRunner` thread per configured stream; re-reads accounts periodically
    so streams follow configuration changes (added, disabled, new token) without a restart."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        account_id: int | None = None,
        refresh_seconds: float = 60.0,
        silence_seconds: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.sessions, self.clock = sessions, clock
        self.account_id = account_id
        self.refresh_seconds = refresh_seconds
        self._silence, self._transport = silence_seconds, transport
        self.runners: dict[tuple[int, str], tuple[StreamRunner, threading.Thread, str]] = {}
        self.problems: list[str] = []

    def _poll_for(self, spec: StreamSpec) -> Poll | None:
        if not spec.poll_allowed:
            return None

        def poll(force: bool) -> object:
            return poll_account(self.sessions, self.clock, spec.account_id, force=force)

        return poll

    def refresh(self) -> None:
        try:
            with unit_of_work(self.sessions) as session:
                specs, self.problems = load_specs(session, self.account_id)
        except SQLAlchemyError:
            # Database briefly away: keep the streams we have, re-read at the next refresh.
            log.exception("streaming: cannot read the accounts; keeping the current streams")
            return
        for problem in self.problems:
            log.warning("streaming: %s", problem)
        wanted = {spec.key: spec for spec in specs}
        for key, (runner, thread, fingerprint) in list(self.runners.items()):
            spec = wanted.get(key)
            if spec is None or spec.fingerprint != fingerprint or not thread.is_alive():
                runner.stop()
                thread.join(timeout=5)
                del self.runners[key]
        for key, spec in wanted.items():
            if key in self.runners:
                continue
            runner = StreamRunner(
                self.sessions,
                self.clock,
                spec.account_id,
                spec.kind,
                spec.target,
                poll=self._poll_for(spec),
                poll_every=spec.poll_every,
                silence_seconds=self._silence,
                transport=self._transport,
            )
            thread = threading.Thread(
                target=runner.run, name=f"stream-{spec.account_id}-{spec.target.name}", daemon=True
            )
            thread.start()
            self.runners[key] = (runner, thread, spec.fingerprint)

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set (SIGTERM / Ctrl-C in the CLI)."""
        try:
            self.refresh()
            while not stop.wait(self.refresh_seconds):
                self.refresh()
        finally:
            self.shutdown()

    def shutdown(self, timeout: float = 5.0) -> None:
        for runner, _thread, _ in self.runners.values():
            runner.stop()
        for _runner, thread, _ in self.runners.values():
            thread.join(timeout=timeout)
        flush_pending_jobs()

    def status(self) -> list[dict[str, Any]]:
        return [
            {"account_id": key[0], "stream": key[1], **asdict(runner.stats)}
            for key, (runner, _thread, _) in sorted(self.runners.items())
        ]
