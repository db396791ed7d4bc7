"""Live fan-out of small notices to connected agents.

In-process by default; when ``CAREDESK_REDIS_URL`` is set, notices go through Redis pub/sub so
every web process sees every worker's changes.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

CHANNEL = "caredesk:live"


class Broker:
    def __init__(self, redis_url: str = "") -> None:
        self._redis_url = redis_url
        self._subscribers: list[queue.Queue[dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._redis: redis.Redis[bytes] | None = (
            redis.Redis.from_url(redis_url) if redis_url else None
        )
        self._listener: threading.Thread | None = None

    def publish(self, notice: dict[str, Any]) -> None:
        if self._redis is not None:
            self._redis.publish(CHANNEL, json.dumps(notice, default=str))
        else:
            self._fan_out(notice)

    def _fan_out(self, notice: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            # A stalled browser must not block the desk; it reloads on reconnect.
            with contextlib.suppress(queue.Full):
                sub.put_nowait(notice)

    def _ensure_redis_listener(self) -> None:
        if self._redis is None or self._listener is not None:
            return

        def listen() -> None:
            assert self._redis is not None
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            for item in pubsub.listen():  # type: ignore[no-untyped-call]
                try:
                    self._fan_out(json.loads(item["data"]))
                except (ValueError, TypeError):
                    continue

        self._listener = threading.Thread(target=listen, name="caredesk-live", daemon=True)
        self._listener.start()

    @contextmanager
    def subscribe(self) -> Iterator[queue.Queue[dict[str, Any]]]:
        self._ensure_redis_listener()
        sub: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.append(sub)
        try:
            yield sub
        finally:
            with self._lock:
                self._subscribers.remove(sub)


_broker: Broker | None = None


def get_broker() -> Broker:
    global _broker
    if _broker is None:
        from caredesk.config import get_settings

        _broker = Broker(get_settings().redis_url)
    return _broker


def set_broker(broker: Broker | None) -> None:
    global _broker
    _broker = broker
