"""One stream connection kept open: read, store each post before reading on, reconnect.

See :mod:`caredesk.ingest.streaming` for the whole picture; this module is the per-stream loop
(:class:`StreamRunner`) and X's documented reconnect schedule (:class:`Backoff`).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urljoin

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from caredesk.channels.base import InboundPost
from caredesk.channels.http import error_text, retry_after_seconds
from caredesk.ingest.service import do_count_rejection, do_receive
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work

log = logging.getLogger(__name__)

NETWORK_STEP, NETWORK_MAX = 0.25, 16.0
HTTP_START, HTTP_MAX = 5.0, 320.0
RATE_START, RATE_MAX = 60.0, 960.0  # 960 s just outlasts X's 15-minute rate window
SILENCE_FACTOR = 3
RECHECK_SECONDS = 600.0
STORE_RETRY_MAX = 30.0
MAX_REDIRECTS = 3
CONNECT_TIMEOUT = 10.0

Frame = tuple[str, list[InboundPost], str]
Sleep = Callable[[float], object]
Poll = Callable[[bool], object]


class Decoder(Protocol):
    def feed(self, chunk: bytes) -> list[Frame]: ...


class StreamTarget(Protocol):
    """What a channel's stream module describes (see ``channels/*/stream.py``)."""

    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def params(self) -> Mapping[str, str]: ...
    @property
    def source(self) -> str: ...
    @property
    def heartbeat_seconds(self) -> float: ...
    @property
    def unavailable_statuses(self) -> frozenset[int]: ...
    @property
    def can_backfill(self) -> bool: ...
    @property
    def reconnect_params(self) -> Mapping[str, str]: ...
    def decoder(self) -> Decoder: ...


class Backoff:
    """X's reconnect schedule; one counter per failure kind, all reset by a working connection."""

    def __init__(self) -> None:
        self.counts = {"network": 0, "http": 0, "rate": 0}

    def reset(self) -> None:
        self.counts = dict.fromkeys(self.counts, 0)

    def next(self, kind: str, retry_after: float | None = None) -> float:
        n = self.counts.get(kind, 0)
        self.counts[kind] = n + 1
        if kind == "network":
            return min(NETWORK_MAX, NETWORK_STEP * (n + 1))
        if kind == "rate":
            delay = min(RATE_MAX, RATE_START * float(2**n))
            # The server's own reset time wins when later (capped: a bogus header is no outage).
            return max(delay, min(retry_after or 0.0, 3600.0))
        return min(HTTP_MAX, HTTP_START * float(2**n))


@dataclass
class StreamStats:
    state: str = "starting"  # starting | streaming | waiting | polling | stopped
    connections: int = 0
    frames: int = 0
    heartbeats: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    ignored: int = 0
    store_retries: int = 0
    unstored: int = 0
    polls: int = 0
    last_delay: float | None = None
    last_error: str | None = None


@dataclass
class _Ended:
    kind: str  # network | http | rate | unavailable | stopped
    detail: str = ""
    retry_after: float | None = None
    connected: bool = False


class _Disconnect(Exception):
    pass


class StreamRunner:
    """Keeps one stream of one account open until :meth:`stop`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        account_id: int,
        kind: str,
        target: StreamTarget,
        *,
        poll: Poll | None = None,
        poll_every: float = 60.0,
        sleep: Sleep | None = None,
        silence_seconds: float | None = None,
        transport: httpx.BaseTransport | None = None,
        on_stored: Callable[[Sequence[InboundPost]], object] | None = None,
    ) -> None:
        self.sessions, self.clock = sessions, clock
        self.account_id, self.kind, self.target = account_id, kind, target
        self.stop_event = threading.Event()
        # Default sleep wakes up at once on stop; tests inject one that records the delays.
        self._sleep: Sleep = sleep or self.stop_event.wait
        self._poll, self.poll_every = poll, poll_every
        self.silence = silence_seconds or target.heartbeat_seconds * SILENCE_FACTOR
        self._transport, self._on_stored = transport, on_stored
        self.backoff = Backoff()
        self.stats = StreamStats()
        self._response: httpx.Response | None = None
        self._connected = False  # the current connection got a 200
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return f"{self.kind} account {self.account_id} stream {self.target.name}"

    def stop(self) -> None:
        self.stop_event.set()
        with self._lock:
            response = self._response
        if response is not None:
            _interrupt(response)

    def run(self) -> None:
        connected_before = False
        try:
            while not self.stop_event.is_set():
                try:
                    ended = self.connect_once(reconnect=connected_before)
                except Exception as exc:  # a bug must not end intake: log, back off, go on
                    log.exception("%s failed", self.label)
                    ended = _Ended("http", f"internal error: {exc!r}")
                connected_before = connected_before or ended.connected
                if self.stop_event.is_set() or ended.kind == "stopped":
                    break
                self.stats.last_error = f"{ended.kind}: {ended.detail}"[:500]
                if ended.kind == "unavailable":
                    self._poll_instead()
                    continue
                delay = self.backoff.next(ended.kind, ended.retry_after)
                self.stats.state, self.stats.last_delay = "waiting", delay
                log.warning("%s ended (%s); reconnecting in %.2fs", self.label, ended.detail, delay)
                self._sleep(delay)
        finally:
            self.stats.state = "stopped"

    def connect_once(self, *, reconnect: bool) -> _Ended:
        """One connection, read until it ends; says how it ended."""
        url, params = self.target.url, dict(self.target.params)
        if reconnect:
            params.update(self.target.reconnect_params)
        timeout = httpx.Timeout(CONNECT_TIMEOUT, read=self.silence)
        self._connected = False
        try:
            with httpx.Client(timeout=timeout, transport=self._transport) as client:
                for _hop in range(MAX_REDIRECTS + 1):
                    request = client.build_request(
                        "GET", url, params=params, headers=dict(self.target.headers)
                    )
                    response = client.send(request, stream=True)
                    try:
                        location = response.headers.get("location")
                        if response.is_redirect and location:
                            # Mastodon's web host redirects to its streaming host (query kept).
                            url, params = urljoin(str(request.url), location), {}
                            continue
                        if response.status_code != 200:
                            return self._refused(response)
                        return self._read(response)
                    finally:
                        response.close()
                return _Ended("http", "too many redirects")
        except httpx.ReadTimeout:
            return self._network(f"no data or heartbeat for {self.silence:.1f}s: presumed dead")
        except _Disconnect as exc:
            return _Ended("network", str(exc), connected=True)
        except httpx.HTTPError as exc:
            return self._network(f"{exc.__class__.__name__}: {exc}")
        finally:
            with self._lock:
                self._response = None

    def _network(self, detail: str) -> _Ended:
        if self.stop_event.is_set():
            return _Ended("stopped")
        return _Ended("network", detail, connected=self._connected)

    def _refused(self, response: httpx.Response) -> _Ended:
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > 4096:
                break
        try:
            data: Any = json.loads(bytes(body))
        except ValueError:
            data = bytes(body[:300]).decode("utf-8", "replace")
        status = response.status_code
        detail = f"HTTP {status}: {error_text(data, '')}".strip()
        if status in self.target.unavailable_statuses:
            return _Ended("unavailable", detail)
        if status == 429:
            now = self.clock.now().timestamp()
            return _Ended("rate", detail, retry_after=retry_after_seconds(response.headers, now))
        return _Ended("http", detail)

    def _read(self, response: httpx.Response) -> _Ended:
        with self._lock:
            self._response = response
        if self.stop_event.is_set():
            return _Ended("stopped")
        self._connected = True
        self.stats.connections += 1
        self.stats.state = "streaming"
        log.info("%s connected", self.label)
        if self._poll is not None and self.target.can_backfill:
            self._run_poll(force=True)  # fill the gap since the last connection (or start)
        decoder = self.target.decoder()
        delivered = False
        for chunk in response.iter_bytes():
            frames = decoder.feed(chunk)
            if frames and not delivered:
                delivered = True
                self.backoff.reset()
            # Everything decoded from this read is committed before the next read: at a trickle
            # that is one post per transaction, in a burst one transaction per read (cheaper).
            self._apply(frames)
            if self.stop_event.is_set():
                return _Ended("stopped")
        return _Ended("network", "server closed the stream", connected=True)

    def _apply(self, frames: list[Frame]) -> None:
        posts: list[InboundPost] = []
        rejected = 0
        disconnect: str | None = None
        for kind, frame_posts, detail in frames:
            self.stats.frames += 1
            if kind == "heartbeat":
                self.stats.heartbeats += 1
            elif kind == "posts":
                posts.extend(frame_posts)
            elif kind == "rejected":
                rejected += 1
                self.stats.rejected += 1
                log.warning("%s rejected a line: %s", self.label, detail)
            elif kind == "disconnect":
                disconnect = detail or "server announced a disconnect"
                break  # the server closes after this notice; nothing after it counts
            else:
                self.stats.ignored += 1
        if posts or rejected:
            self._store(posts, rejected)
        if disconnect is not None:
            raise _Disconnect(disconnect)

    def _store(self, posts: list[InboundPost], rejected: int = 0) -> None:
        """Commit posts (and count rejected lines) before reading on; while the database fails,
        retry the same batch, so nothing received is dropped."""
        attempt = 0
        while True:
            try:
                with unit_of_work(self.sessions) as session:
                    result = do_receive(
                        session,
                        self.clock,
                        posts,
                        channel_account_id=self.account_id,
                        source=self.target.source,
                    )
                    for _ in range(rejected):
                        do_count_rejection(session, self.clock, self.kind, "malformed")
            except SQLAlchemyError as exc:
                attempt += 1
                self.stats.store_retries += 1
                if self.stop_event.is_set():
                    # Shutting down: the reconnect poll of the next start refetches these.
                    self.stats.unstored += len(posts)
                    log.error("%s stopped before storing %s", self.label, _ids(posts))
                    return
                log.warning("%s cannot store %s yet: %s", self.label, _ids(posts), exc)
                self._sleep(min(STORE_RETRY_MAX, 0.5 * 2 ** min(attempt, 6)))
                continue
            self.stats.stored += len(result.stored)
            self.stats.duplicates += result.duplicates
            if self._on_stored is not None and posts:
                self._on_stored(posts)
            return

    def _run_poll(self, *, force: bool) -> None:
        assert self._poll is not None
        self.stats.polls += 1
        try:
            self._poll(force)
        except Exception:  # polling trouble is recorded on its cursor; the stream goes on
            log.exception("backfill poll of %s failed", self.label)

    def _poll_instead(self) -> None:
        """No streaming on this server: poll at the account's interval, re-check later."""
        self.stats.state = "polling"
        log.warning("%s: streaming unavailable, polling instead", self.label)
        rounds = max(1, int(RECHECK_SECONDS // max(1.0, self.poll_every)))
        for _ in range(rounds):
            if self.stop_event.is_set():
                return
            if self._poll is not None:
                self._run_poll(force=False)  # not forced: the worker may have just polled
            self._sleep(self.poll_every)


def _ids(posts: Sequence[InboundPost]) -> str:
    return ", ".join(p.external_id for p in posts[:5])


def _interrupt(response: httpx.Response) -> None:
    """Wake a reader blocked on the socket (closing alone does not interrupt a blocked recv)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    try:
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
