"""Running the job consumer: in-process threads for the embedded default, or `caredesk worker`."""

from __future__ import annotations

import logging

from huey.consumer import Consumer

from caredesk import tasks
from caredesk.kit import jobs

log = logging.getLogger(__name__)


def make_consumer(workers: int = 2, *, periodic: bool = True) -> Consumer:
    huey = jobs.get_huey()
    tasks.register_periodic()
    return huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic)


class InProcessConsumer(Consumer):  # type: ignore[misc]
    """Consumer threads inside the web process: the server owns the signal handlers."""

    def _set_signal_handlers(self) -> None:
        return None


def start_in_process(workers: int = 2) -> Consumer:
    huey = jobs.get_huey()
    tasks.register_periodic()
    consumer = InProcessConsumer(huey, workers=workers, worker_type="thread", periodic=True)
    consumer.start()
    return consumer


def stop_in_process(consumer: Consumer) -> None:
    consumer.stop(graceful=True)


def run_forever(workers: int = 4) -> None:
    """`caredesk worker`: a separate process consuming the shared queue (Redis when scaled out)."""
    consumer = make_consumer(workers)
    consumer.run()
