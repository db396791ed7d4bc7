"""A small rate-limit aware wrapper around httpx for channel adapters.

It turns HTTP outcomes into the channel error vocabulary (``TransientChannelError`` with
``retry_after``, ``PermanentChannelError`` with the network's own message), caps response sizes
(network answers are untrusted) and remembers per endpoint when a network said "no more calls
until T", so we stop calling instead of burning a 429.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog

from caredesk.channels.base import ChannelError, PermanentChannelError, TransientChannelError
from caredesk.kit.clock import Clock, SystemClock
from caredesk.kit.shared_blocks import SharedBlocks, shared_blocks

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = 15.0
DEFAULT_MAX_BODY = 8 * 1024 * 1024
DEFAULT_RETRY_AFTER = 60.0

# Header spellings: X uses x-rate-limit-*, Mastodon X-RateLimit-* (reset as ISO 8601).
_REMAINING = ("x-rate-limit-remaining", "x-ratelimit-remaining")
_RESET = ("x-rate-limit-reset", "x-ratelimit-reset")


@dataclass(frozen=True)
class ApiResponse:
    status_code: int
    headers: httpx.Headers
    data: Any
    url: str


ErrorMapper = Callable[[int, httpx.Headers, Any, float | None], ChannelError]


def error_text(data: Any, fallback: str) -> str:
    """The most useful human message in a JSON error body, whatever the network's shape."""
    if isinstance(data, Mapping):
        parts: list[str] = []
        for key in ("detail", "error_description", "message", "error", "title"):
            value = data.get(key)
            if isinstance(value, str) and value:
                parts.append(value)
                break
            if isinstance(value, Mapping):
                nested = error_text(value, "")
                if nested:
                    parts.append(nested)
                    break
        # X puts the specific reason in errors[] and a generic one in detail: keep both.
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            nested = error_text(errors[0], "")
            if nested and nested not in parts:
                parts.append(nested)
        if parts:
            return "; ".join(parts)[:500]
    if isinstance(data, str) and data.strip():
        return data.strip()[:500]
    return fallback


def default_error(
    status: int, headers: httpx.Headers, data: Any, retry_after: float | None
) -> ChannelError:
    message = error_text(data, f"HTTP {status}")
    if status == 429 or status >= 500 or status == 408:
        return TransientChannelError(f"HTTP {status}: {message}", retry_after=retry_after)
    return PermanentChannelError(f"HTTP {status}: {message}")


def _parse_reset(value: str, now: float) -> float | None:
    """Reset as epoch seconds (X) or an ISO 8601 / HTTP date (Mastodon)."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        # Some networks send seconds-from-now rather than an epoch; anything before 2001 is that.
        return number if number > 1_000_000_000 else now + number
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def retry_after_seconds(headers: httpx.Headers, now: float) -> float | None:
    """Seconds to wait according to Retry-After or the rate-limit reset header."""
    raw = headers.get("retry-after")
    if raw:
        at = _parse_reset(raw, now)
        if at is not None:
            return max(0.0, at - now)
    for name in _RESET:
        raw = headers.get(name)
        if raw:
            at = _parse_reset(raw, now)
            if at is not None:
                return max(0.0, at - now)
    return None


class RateLimitBook:
    """Per-key 'do not call before' times, shared by all calls of one adapter instance and,
    when the desk is scaled out, by every process (see :mod:`caredesk.kit.shared_blocks`)."""

    def __init__(self, shared: Callable[[], SharedBlocks | None] = shared_blocks) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._shared = shared

    def wait_time(self, key: str, now: float) -> float:
        with self._lock:
            until = self._until.get(key)
            if until is not None and until <= now:
                del self._until[key]
                until = None
        if until is None:
            store = self._shared()
            until = store.until(key) if store is not None else None
        return 0.0 if until is None or until <= now else until - now

    def block_until(self, key: str, until: float) -> None:
        with self._lock:
            self._until[key] = max(until, self._until.get(key, 0.0))
        store = self._shared()
        if store is not None:
            store.block(key, until)


class HttpClient:
    """Synchronous JSON client; one per adapter, safe to share between threads."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = "Caredesk/0.1 (+https://github.com/caredesk)",
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.rate_limits = RateLimitBook()
        self._transport = transport
        self._user_agent = user_agent

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        rate_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_body: int = DEFAULT_MAX_BODY,
        retry_safe: bool = True,
        error_mapper: ErrorMapper = default_error,
    ) -> ApiResponse:
        """Call the network and return its parsed JSON, or raise a channel error.

        ``retry_safe`` says whether sending the same request again can not duplicate an effect
        (reads; writes the network deduplicates). When it is False, a failure after the request
        may have reached the network is permanent: we cannot know whether it was applied, and a
        public reply must never be posted twice.
        """
        now = self._now()
        if rate_key is not None:
            wait = self.rate_limits.wait_time(rate_key, now)
            if wait > 0:
                raise TransientChannelError(
                    f"rate limit for {rate_key} exhausted; retry in {wait:.0f}s", retry_after=wait
                )
        all_headers = {"User-Agent": self._user_agent, "Accept": "application/json"}
        all_headers.update(headers or {})
        try:
            with (
                httpx.Client(timeout=timeout, transport=self._transport) as client,
                client.stream(
                    method, url, headers=all_headers, params=params, json=json_body, data=form
                ) as response,
            ):
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > max_body:
                        raise _Oversized(len(body))
        except _Oversized as exc:
            raise self._ambiguous(
                f"response from {url} larger than {max_body} bytes", retry_safe
            ) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Never reached the network: always safe to retry.
            raise TransientChannelError(f"cannot reach {url}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise self._ambiguous(f"error talking to {url}: {exc!r}", retry_safe) from exc

        now = self._now()
        self._note_rate_limit(rate_key, response.headers, now)
        data = _decode(bytes(body))
        status = response.status_code
        if 200 <= status < 300:
            if data is _MALFORMED:
                raise self._ambiguous(f"malformed JSON from {url}", retry_safe)
            return ApiResponse(status, response.headers, data, str(response.url))
        retry_after = retry_after_seconds(response.headers, now)
        if status == 429:
            if retry_after is None:
                retry_after = DEFAULT_RETRY_AFTER
            if rate_key is not None:
                self.rate_limits.block_until(rate_key, now + retry_after)
        error_body = None if data is _MALFORMED else data
        if error_body is None and body:
            error_body = bytes(body[:500]).decode("utf-8", "replace")
        raise error_mapper(status, response.headers, error_body, retry_after)

    def _note_rate_limit(self, key: str | None, headers: httpx.Headers, now: float) -> None:
        if key is None:
            return
        remaining = next((headers[h] for h in _REMAINING if h in headers), None)
        if remaining is None:
            return
        try:
            exhausted = int(remaining.strip()) <= 0
        except ValueError:
            return
        if exhausted:
            wait = retry_after_seconds(headers, now)
            self.rate_limits.block_until(key, now + (DEFAULT_RETRY_AFTER if wait is None else wait))

    @staticmethod
    def _ambiguous(message: str, retry_safe: bool) -> ChannelError:
        if retry_safe:
            return TransientChannelError(message)
        return PermanentChannelError(
            f"{message}; the network may have accepted it, check before sending again"
        )


class _Oversized(Exception):
    pass


_MALFORMED: Any = object()


def _decode(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return _MALFORMED


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


# --- helpers shared by the adapters: webhook bodies and account settings -------------------

DEFAULT_MAX_WEBHOOK_BYTES = 1024 * 1024


def token_key(token: str) -> str:
    # Rate limits are per token; key the book by a digest, never by the secret itself.
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def load_cursor(cursor: str | None, kind: str) -> dict[str, Any]:
    """A polling cursor (JSON); an unreadable one starts afresh, logged as ``<kind>.cursor...``."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        log.warning(f"{kind}.cursor.unreadable", cursor=cursor[:100])
        return {}
    return dict(state) if isinstance(state, Mapping) else {}


def load_webhook_json(body: bytes, max_bytes: int = DEFAULT_MAX_WEBHOOK_BYTES) -> Any:
    """Parse a webhook body as strict UTF-8 JSON or raise ``WebhookRejected`` (4xx)."""
    from caredesk.channels.base import WebhookRejected

    if len(body) > max_bytes:
        raise WebhookRejected(f"body of {len(body)} bytes exceeds {max_bytes}", status_code=413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookRejected(f"body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise WebhookRejected(f"body is not valid JSON: {exc}") from exc


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup over any mapping."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def setting(config: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = config.get(key, default)
    if value is None:
        return None
    return str(value)


def required(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if value is None or value == "":
        raise PermanentChannelError(f"channel account setting {key!r} is missing")
    return str(value)


def int_setting(config: Mapping[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise PermanentChannelError(f"channel account setting {key!r} must be an integer") from exc


def float_setting(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise PermanentChannelError(f"channel account setting {key!r} must be a number") from exc


def bool_setting(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def list_setting(config: Mapping[str, Any], key: str) -> list[str]:
    """A list setting given as a list or a comma-separated string (CLI/UI friendly)."""
    value = config.get(key)
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [item.strip() for item in items if item.strip()]


def clean_text(text: str, limit: int = 100_000) -> str:
    """Untrusted text made safe to store: no NULs or lone surrogates, bounded length."""
    text = text.replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit]
