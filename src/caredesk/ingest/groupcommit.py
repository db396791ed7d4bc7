"""Group commit for webhook deliveries: many waiting deliveries, one transaction.

Each delivery still gets its answer only after its own rows are committed; what changes is
that deliveries arriving while a commit is under way wait for the next one and share it, so a
burst of N single-post webhooks costs one INSERT and one COMMIT instead of N of each. One batch
is in flight at a time on SQLite (a single writer, like SQLite's own lock), ``in_flight`` on
PostgreSQL (the next batch is inserted while one waits for its flush; rows go in key order, so
batches sharing posts lock them in the same order). No background task runs when nothing waits.

A batch that fails because of its data (a row the database refuses, an account deleted
meanwhile) is retried one delivery per transaction, so only the deliveries that fail on their
own get an error and their neighbours are stored and acknowledged as usual. A batch that fails
because of the database (locked, connection lost) fails as a whole at once: every delivery in
it is answered 5xx, and the networks retry them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from anyio import to_thread
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from caredesk.ingest.service import Delivery, ReceiveResult, do_receive_many
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work

log = logging.getLogger(__name__)

Outcome = ReceiveResult | Exception


class InboxWriter:
    """Collects deliveries from one event loop and commits them in shared transactions."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        max_posts: int = 2_000,
        in_flight: int = 1,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._max_posts = max_posts
        # Batches committed at once: 1 for SQLite (one writer at a time anyway); a few on
        # PostgreSQL, where a batch can be inserted while the one before waits for its flush.
        self._in_flight = in_flight
        self._queue: list[tuple[Delivery, asyncio.Future[ReceiveResult]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # Figures for benchmarks and health checks.
        self.batches = 0
        self.deliveries = 0
        self.retried_batches = 0

    async def receive(self, delivery: Delivery) -> ReceiveResult:
        """Store one delivery; returns once its rows are committed (raises if they are not)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ReceiveResult] = loop.create_future()
        self._queue.append((delivery, future))
        if len(self._tasks) < self._in_flight:
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    def _take(self) -> list[tuple[Delivery, asyncio.Future[ReceiveResult]]]:
        posts = 0
        count = 0
        for delivery, _ in self._queue:
            if count and posts + len(delivery.posts) > self._max_posts:
                break
            posts += len(delivery.posts)
            count += 1
        batch, self._queue = self._queue[:count], self._queue[count:]
        return batch

    async def _drain(self) -> None:
        batch: list[tuple[Delivery, asyncio.Future[ReceiveResult]]] = []
        try:
            while self._queue:
                batch = self._take()
                outcomes = await to_thread.run_sync(self.commit, [d for d, _ in batch])
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # the client hung up; its rows are stored regardless
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                batch = []
        except BaseException as exc:  # cancelled (shutdown) or a bug: nobody may wait forever
            failure = exc if isinstance(exc, Exception) else RuntimeError("inbox writer stopped")
            for _, future in batch + self._queue:
                if not future.done():
                    future.set_exception(failure)
            self._queue = []
            raise

    def commit(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Store ``deliveries`` in one transaction, or one by one if that fails (blocking)."""
        self.batches += 1
        self.deliveries += len(deliveries)
        try:
            with unit_of_work(self._sessions) as session:
                results: list[Outcome] = list(do_receive_many(session, self._clock, deliveries))
            return results
        except (OperationalError, InterfaceError) as exc:
            # The database itself (locked past the busy timeout, connection lost): no row is to
            # blame, and retrying one by one would multiply the wait. Every waiter gets a 5xx.
            log.warning("could not store %d deliveries: %s", len(deliveries), exc)
            return [exc] * len(deliveries)
        except Exception as exc:
            if len(deliveries) == 1:
                log.warning("could not store a delivery: %s", exc)
                return [exc]
            log.warning(
                "group commit of %d deliveries failed (%s); storing them one by one",
                len(deliveries),
                exc.__class__.__name__,
            )
        self.retried_batches += 1
        outcomes: list[Outcome] = []
        for delivery in deliveries:
            try:
                with unit_of_work(self._sessions) as session:
                    outcomes.extend(do_receive_many(session, self._clock, [delivery]))
            except Exception as exc:
                log.warning("could not store a delivery: %s", exc)
                outcomes.append(exc)
        return outcomes
