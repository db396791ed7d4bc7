"""Background jobs on Huey: SQLite storage in-process by default, Redis when configured.

Stages register named handlers; they enqueue by name *after commit*, so a job never sees data
that is not durable and a rolled-back request enqueues nothing. Handlers must be idempotent:
Huey may run a job twice (retry after a crash), and a lost job is re-found by the sweeper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.exceptions import RetryTask
from sqlalchemy.orm import Session

from caredesk.kit.db import on_commit

log = logging.getLogger(__name__)

Handler = Callable[..., None]
_handlers: dict[str, Handler] = {}
_huey: Huey | None = None


class RetryLater(Exception):
    """Raised by a handler to be tried again after ``delay`` seconds."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


def make_huey(redis_url: str, jobs_path: str, *, immediate: bool = False) -> Huey:
    if redis_url:
        return RedisHuey("caredesk", url=redis_url, immediate=immediate, utc=True)
    Path(jobs_path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("caredesk", filename=jobs_path, immediate=immediate, utc=True)


def configure(huey: Huey) -> Huey:
    """Install ``huey`` as the queue and bind the job runner to it."""
    global _huey, _run_task
    _huey = huey
    _run_task = huey.task(retries=8, retry_delay=2, retry_backoff=2.0, name="caredesk.run")(_run)
    return huey


def get_huey() -> Huey:
    if _huey is None:
        from caredesk.config import get_settings

        settings = get_settings()
        configure(
            make_huey(settings.redis_url, settings.jobs_path, immediate=settings.jobs_immediate)
        )
    assert _huey is not None
    return _huey


def handler(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _handlers[name] = fn
        return fn

    return register


def registered() -> list[str]:
    return sorted(_handlers)


def _run(name: str, args: list[Any]) -> None:
    fn = _handlers.get(name)
    if fn is None:
        # Unknown job (old name after a deploy): log loudly, do not retry forever.
        log.error("no handler for job %s", name)
        return
    try:
        fn(*args)
    except RetryLater as exc:
        raise RetryTask(str(exc), delay=exc.delay) from exc


_run_task: Any = None


def enqueue_now(name: str, *args: Any) -> None:
    get_huey()
    _run_task(name, list(args))


def enqueue_after_commit(session: Session, name: str, *args: Any) -> None:
    on_commit(session, lambda: enqueue_now(name, *args))


def queue_status() -> dict[str, Any]:
    huey = get_huey()
    try:
        pending = huey.pending_count()
        return {"status": "ok", "backend": type(huey).__name__, "pending": pending}
    except Exception as exc:
        return {"status": "error", "backend": type(huey).__name__, "error": str(exc)}
