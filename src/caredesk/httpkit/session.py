"""Signed, http-only, same-site session cookies with a CSRF token inside."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "caredesk_session"
MAX_AGE = 12 * 3600


@dataclass(frozen=True)
class WebSession:
    agent_id: int
    csrf: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="caredesk-session")


def read_session(request: Request, secret: str) -> WebSession | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(secret).loads(raw, max_age=MAX_AGE)
        return WebSession(int(data["a"]), str(data["c"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def write_session(response: Response, secret: str, agent_id: int, *, secure: bool) -> str:
    csrf = secrets.token_urlsafe(24)
    value = _serializer(secret).dumps({"a": agent_id, "c": csrf})
    response.set_cookie(
        COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="lax", secure=secure, path="/"
    )
    return csrf


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


class LoginThrottle:
    """At most ``limit`` failed logins per key in ``window`` seconds (per process)."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.window]
            self._failures[key] = recent
            return len(recent) >= self.limit

    def fail(self, key: str) -> None:
        with self._lock:
            self._failures.setdefault(key, []).append(time.monotonic())

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
