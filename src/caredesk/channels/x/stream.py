"""X API v2 filtered stream (``GET /2/tweets/search/stream``): what to request and how to read it.

The stream is newline-delimited JSON. Each line is one of:

- a post: ``{"data": {...}, "includes": {"users": [...]}, "matching_rules": [{"id", "tag"}]}``
  (a post line may also carry ``errors`` about expansions it could not hydrate: still a post);
- a keep-alive: a bare ``\\r\\n`` sent at least every 20 seconds;
- a disconnect notice: ``{"errors": [{"title": "operational-disconnect", ...}]}`` after which X
  closes the connection.

The connection itself (reconnects, X's documented back-off, the silence watchdog, storing posts)
is the supervisor's job (:mod:`caredesk.ingest.streaming`); this module only knows X's wire
format. The rules the stream matches are managed by :meth:`XAdapter.sync_stream_rules`.

Account settings used: ``api_base_url``, ``bearer_token`` (secret), ``user_id`` (account_ref),
``stream_backfill_minutes`` (0-5; X's recovery feature on Pro/Enterprise tiers: on reconnect ask
for the minutes missed — other tiers rely on polling's ``since_id`` cursor instead).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from caredesk.channels.base import InboundPost
from caredesk.channels.http import int_setting, join_url, required, setting
from caredesk.channels.x import parse
from caredesk.channels.x.adapter import DEFAULT_API, EXPANSIONS, TWEET_FIELDS, USER_FIELDS

STREAM_PATH = "2/tweets/search/stream"
# X sends "\r\n" at least this often; the supervisor calls a connection dead after 3x silence.
HEARTBEAT_SECONDS = 20.0
# A post line is a few KB; a "line" growing past this without a newline is not X talking.
MAX_LINE_BYTES = 1024 * 1024
MAX_BACKFILL_MINUTES = 5

# (kind, posts, detail): kind is "heartbeat", "posts", "rejected", "disconnect" or "ignored".
Frame = tuple[str, list[InboundPost], str]


def decode_line(line: bytes, account_ref: str | None) -> Frame:
    """One stream line to a frame; never raises (a bad line is a "rejected" frame)."""
    if not line.strip():
        return ("heartbeat", [], "")
    try:
        payload = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return ("rejected", [], f"line is not valid UTF-8 (byte {exc.start})")
    except ValueError as exc:
        return ("rejected", [], f"line is not valid JSON: {exc}")
    if not isinstance(payload, Mapping):
        return ("rejected", [], "line is not a JSON object")
    if "data" in payload:
        try:
            post = parse.v2_tweet(payload["data"], parse.v2_users(payload), account_ref)
        except parse.Malformed as exc:
            return ("rejected", [], str(exc))
        rules = payload.get("matching_rules")
        if isinstance(rules, list):
            # Which filtered-stream rule(s) matched: kept with the raw post for audit.
            post = dataclasses.replace(post, raw={**post.raw, "matching_rules": rules})
        return ("posts", [post], "")
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], Mapping) else {}
        title = str(first.get("title") or first.get("disconnect_type") or "error")
        detail = str(first.get("detail") or "")
        if "disconnect" in title.lower() or "disconnect_type" in first:
            return ("disconnect", [], f"{title}: {detail}"[:300])
        # Stream-level notices that are not posts: logged by the supervisor, nothing to store.
        return ("ignored", [], f"{title}: {detail}"[:300])
    return ("rejected", [], "line has neither data nor errors")


class LineDecoder:
    """Splits the byte stream into lines (``\\r\\n`` or ``\\n``) and decodes each one."""

    def __init__(self, account_ref: str | None, max_line: int = MAX_LINE_BYTES) -> None:
        self._buffer = bytearray()
        self._ref = account_ref
        self._max = max_line
        self._skipping = False  # inside an oversized line: drop bytes until its newline

    def feed(self, chunk: bytes) -> list[Frame]:
        frames: list[Frame] = []
        self._buffer.extend(chunk)
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._skipping:
                self._skipping = False
                continue
            frames.append(decode_line(line.rstrip(b"\r"), self._ref))
        if len(self._buffer) > self._max and not self._skipping:
            frames.append(("rejected", [], f"line longer than {self._max} bytes"))
            self._buffer.clear()
            self._skipping = True
        elif self._skipping:
            self._buffer.clear()
        return frames


@dataclass(frozen=True)
class XStreamTarget:
    """The one filtered stream of an X app (all its rules arrive on one connection)."""

    url: str
    headers: Mapping[str, str]
    params: Mapping[str, str]
    account_ref: str | None
    # Search/rule results: kept only when a listening rule of some workspace matches.
    source: str = "listening"
    name: str = "filtered"
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    # X has no "streaming not offered" status: every failure is retried with back-off.
    unavailable_statuses: frozenset[int] = frozenset()
    # Polling can refill a gap only for what it polls (mentions timeline / recent search).
    can_backfill: bool = True
    reconnect_params: Mapping[str, str] = field(default_factory=dict)

    def decoder(self) -> LineDecoder:
        return LineDecoder(self.account_ref)


def stream_targets(config: Mapping[str, Any]) -> list[XStreamTarget]:
    """What to open for an X account with ``stream: true``."""
    token = required(config, "bearer_token")
    base = setting(config, "api_base_url", DEFAULT_API) or DEFAULT_API
    backfill = max(0, min(MAX_BACKFILL_MINUTES, int_setting(config, "stream_backfill_minutes", 0)))
    return [
        XStreamTarget(
            url=join_url(base, STREAM_PATH),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            params={
                "tweet.fields": TWEET_FIELDS,
                "user.fields": USER_FIELDS,
                "expansions": EXPANSIONS,
            },
            account_ref=setting(config, "user_id"),
            can_backfill=bool(setting(config, "user_id") or setting(config, "search_query")),
            reconnect_params={"backfill_minutes": str(backfill)} if backfill else {},
        )
    ]
