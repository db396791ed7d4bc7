"""'Do not call before' times that every process of a scaled-out desk shares.

When one worker is told by X or Mastodon to back off (429, or remaining=0 with a reset time),
the other workers must not keep calling until the network answers them the same: that burns
the next window and, on X, can get an app suspended. With ``CAREDESK_REDIS_URL`` set the times
live in Redis (one key per rate-limit key, expiring when the block ends); on the embedded
default there is one process, so there is nothing to share.

Redis trouble never stops a call: the local book still holds what this process learned.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import redis

from caredesk.config import get_settings

log = logging.getLogger(__name__)

PREFIX = "caredesk:ratelimit:"
# Keep the later of the stored and the new time; expire the key when the block ends.
_MAX_SET = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', math.ceil(wanted * 1000))
end
return 1
"""


class SharedBlocks(Protocol):
    def until(self, key: str) -> float | None: ...

    def block(self, key: str, until: float) -> None: ...


class RedisBlocks:
    def __init__(self, url: str) -> None:
        self._redis: redis.Redis[bytes] = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        self._max_set = self._redis.register_script(_MAX_SET)

    def until(self, key: str) -> float | None:
        try:
            raw = self._redis.get(PREFIX + key)
        except redis.RedisError as exc:
            log.warning("shared rate limits unavailable (%s); using this process's", exc)
            return None
        return float(raw) if raw else None

    def block(self, key: str, until: float) -> None:
        try:
            self._max_set(keys=[PREFIX + key], args=[repr(until)])
        except redis.RedisError as exc:
            log.warning("could not share a rate limit for %s: %s", key, exc)


_lock = threading.Lock()
_shared: dict[str, SharedBlocks] = {}


def shared_blocks() -> SharedBlocks | None:
    """The desk-wide store, or None on the embedded default (one process)."""
    url = get_settings().redis_url
    if not url:
        return None
    with _lock:
        store = _shared.get(url)
        if store is None:
            store = _shared[url] = RedisBlocks(url)
        return store
