"""Who has which conversation open, or is typing in it ("Amira is viewing").

Pages announce themselves every 20 s; an entry lapses after its TTL. On the embedded default the
desk is one process and the map lives in memory. With ``CAREDESK_REDIS_URL`` set, several web
processes serve the same agents, so the map is a Redis hash per conversation (field = agent id,
value = name, state and expiry in wall-clock seconds) — otherwise an agent would see only the
colleagues whose announcements happened to reach the same process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from typing import Any, Protocol

import redis

from caredesk.config import get_settings

log = logging.getLogger(__name__)

TTL = {"viewing": 45.0, "typing": 8.0}
KEY = "caredesk:presence:{}"


class PresenceMap(Protocol):
    def update(self, conversation_id: int, agent_id: int, name: str, state: str) -> None: ...

    def viewers(self, conversation_id: int) -> list[dict[str, Any]]: ...


def _listing(entries: dict[int, tuple[str, str, float]], now: float) -> list[dict[str, Any]]:
    return [
        {"agent_id": a, "name": name, "state": state}
        for a, (name, state, until) in sorted(entries.items())
        if until >= now
    ]


class LocalPresence:
    def __init__(self) -> None:
        self._seen: dict[int, dict[int, tuple[str, str, float]]] = {}
        self._lock = threading.Lock()

    def update(self, conversation_id: int, agent_id: int, name: str, state: str) -> None:
        with self._lock:
            here = self._seen.setdefault(conversation_id, {})
            if state == "left":
                here.pop(agent_id, None)
            else:
                here[agent_id] = (name, state, time.monotonic() + TTL[state])

    def viewers(self, conversation_id: int) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            here = self._seen.get(conversation_id, {})
            for agent_id in [a for a, (_, _, until) in here.items() if until < now]:
                del here[agent_id]
            return _listing(here, now)


class RedisPresence:
    """Shared by every web process. Redis trouble degrades to "nobody else is here"."""

    def __init__(self, url: str) -> None:
        self._redis: redis.Redis[bytes] = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )

    def update(self, conversation_id: int, agent_id: int, name: str, state: str) -> None:
        key = KEY.format(conversation_id)
        try:
            if state == "left":
                self._redis.hdel(key, str(agent_id))
                return
            until = time.time() + TTL[state]
            pipe = self._redis.pipeline()
            pipe.hset(key, str(agent_id), json.dumps([name, state, until]))
            pipe.expire(key, int(max(TTL.values())) + 1)  # the hash outlives no entry
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("presence not shared (%s)", exc)

    def viewers(self, conversation_id: int) -> list[dict[str, Any]]:
        key = KEY.format(conversation_id)
        try:
            raw = self._redis.hgetall(key)
        except redis.RedisError as exc:
            log.warning("presence unavailable (%s)", exc)
            return []
        now = time.time()
        entries: dict[int, tuple[str, str, float]] = {}
        lapsed: list[bytes] = []
        for field, value in raw.items():
            try:
                name, state, until = json.loads(value)
                entries[int(field)] = (str(name), str(state), float(until))
            except (ValueError, TypeError):
                lapsed.append(field)
                continue
            if float(until) < now:
                lapsed.append(field)
        if lapsed:
            with contextlib.suppress(redis.RedisError):  # the hash's expiry cleans up anyway
                self._redis.hdel(key, *lapsed)
        return _listing(entries, now)


_lock = threading.Lock()
_maps: dict[str, PresenceMap] = {}


def presence_map() -> PresenceMap:
    """The presence map of this deployment (in memory, or Redis when scaled out)."""
    url = get_settings().redis_url
    with _lock:
        found = _maps.get(url)
        if found is None:
            found = _maps[url] = RedisPresence(url) if url else LocalPresence()
        return found
