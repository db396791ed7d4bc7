"""Mastodon streaming API (Server-Sent Events): what to open and how to read it.

- ``GET /api/v1/streaming/user``: the account's own events; ``notification`` events of type
  ``mention`` are customers talking to the brand (source "account"). Its ``update`` events are the
  home timeline (people the brand follows), not care traffic, so they are ignored — exactly what
  polling ``/api/v1/notifications?types[]=mention`` would give.
- ``GET /api/v1/streaming/hashtag?tag=...``: public posts with the hashtag, as ``update`` events
  (source "listening": kept when a listening rule matches).

The wire format is SSE: ``event: name`` and ``data: <JSON>`` lines, a blank line ends an event,
and lines starting with ``:`` are comments — the server's ``:thump`` heartbeat (every ~15 s).

Instances without streaming (or behind a proxy that does not pass it) answer 404 or 501: the
supervisor then keeps polling the account instead ("streaming where available"). The streaming
server may live on another host (``urls.streaming`` of ``/api/v2/instance``): set
``streaming_url`` to it, or let the web host's documented redirect lead there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from caredesk.channels.base import InboundPost
from caredesk.channels.http import join_url, list_setting, required, setting
from caredesk.channels.mastodon import parse

USER_PATH = "api/v1/streaming/user"
HASHTAG_PATH = "api/v1/streaming/hashtag"
HEARTBEAT_SECONDS = 15.0
MAX_EVENT_BYTES = 1024 * 1024
# 404: this server has no streaming API; 501: a proxy or server that does not implement it.
UNAVAILABLE = frozenset({404, 501})

# (kind, posts, detail): kind is "heartbeat", "posts", "rejected", "disconnect" or "ignored".
Frame = tuple[str, list[InboundPost], str]


def decode_event(event: str, data: str, *, mentions: bool, account_ref: str | None) -> Frame:
    """One SSE event to a frame; never raises (a bad payload is a "rejected" frame)."""
    wanted = "notification" if mentions else "update"
    if event != wanted:
        return ("ignored", [], event[:60])
    try:
        payload = json.loads(data)
    except ValueError as exc:
        return ("rejected", [], f"{event} payload is not valid JSON: {exc}")
    try:
        if mentions:
            post = parse.notification_to_post(payload, account_ref)
            return ("posts", [post], "") if post else ("ignored", [], "notification")
        return ("posts", [parse.status_to_post(payload, account_ref)], "")
    except parse.Malformed as exc:
        return ("rejected", [], str(exc))


class SseDecoder:
    """Incremental Server-Sent Events parser (``\\n`` or ``\\r\\n`` line ends)."""

    def __init__(
        self, *, mentions: bool, account_ref: str | None, max_event: int = MAX_EVENT_BYTES
    ) -> None:
        self._buffer = bytearray()
        self._event = ""
        self._data: list[str] = []
        self._size = 0
        self._mentions = mentions
        self._ref = account_ref
        self._max = max_event
        # Why the event being read cannot be used (reported once, when the event ends).
        self._poison: str | None = None
        self._skip_line = False

    def feed(self, chunk: bytes) -> list[Frame]:
        frames: list[Frame] = []
        self._buffer.extend(chunk)
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            raw = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[: end + 1]
            if self._skip_line:  # the tail of an oversized line
                self._skip_line = False
                continue
            frame = self._line(raw)
            if frame is not None:
                frames.append(frame)
        if len(self._buffer) > self._max:
            # An endless line is not an event stream: drop it and poison its event.
            self._buffer.clear()
            self._skip_line = True
            self._poison = f"line longer than {self._max} bytes"
        return frames

    def _line(self, raw: bytes) -> Frame | None:
        if not raw:
            return self._dispatch()
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._poison = f"line is not valid UTF-8 (byte {exc.start})"
            return None
        if line.startswith(":"):
            return ("heartbeat", [], line[1:].strip()[:40])
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._size += len(value) + 1
            if self._size > self._max:
                self._poison = f"event larger than {self._max} bytes"
            else:
                self._data.append(value)
        # "id" and "retry" fields do not matter here: Mastodon's stream has no replay.
        return None

    def _dispatch(self) -> Frame | None:
        event, data, poison = self._event or "message", "\n".join(self._data), self._poison
        self._event, self._data, self._size, self._poison = "", [], 0, None
        if poison is not None:
            return ("rejected", [], f"{event} event: {poison}")
        if not data and event == "message":
            return None  # a stray blank line
        return decode_event(event, data, mentions=self._mentions, account_ref=self._ref)


@dataclass(frozen=True)
class MastodonStreamTarget:
    name: str
    url: str
    headers: Mapping[str, str]
    params: Mapping[str, str]
    source: str
    mentions: bool
    account_ref: str | None
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    unavailable_statuses: frozenset[int] = UNAVAILABLE
    # The notifications poll backfills mentions; hashtag polling backfills the tags.
    can_backfill: bool = True

    @property
    def reconnect_params(self) -> Mapping[str, str]:
        return {}  # no replay on Mastodon: the polling cursor (min_id) fills gaps

    def decoder(self) -> SseDecoder:
        return SseDecoder(mentions=self.mentions, account_ref=self.account_ref)


def stream_targets(config: Mapping[str, Any]) -> list[MastodonStreamTarget]:
    """The user stream (mentions) and one stream per configured hashtag."""
    token = required(config, "access_token")
    base = setting(config, "streaming_url") or required(config, "api_base_url")
    ref = setting(config, "handle")
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    targets = [
        MastodonStreamTarget(
            name="user",
            url=join_url(base, USER_PATH),
            headers=headers,
            params={},
            source="account",
            mentions=True,
            account_ref=ref,
        )
    ]
    for tag in list_setting(config, "hashtags"):
        tag = tag.lstrip("#").lower()
        targets.append(
            MastodonStreamTarget(
                name=f"tag:{quote(tag, safe='')}",
                url=join_url(base, HASHTAG_PATH),
                headers=headers,
                params={"tag": tag},
                source="listening",
                mentions=False,
                account_ref=ref,
            )
        )
    return targets
