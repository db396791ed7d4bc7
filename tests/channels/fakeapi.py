"""A real HTTP server on 127.0.0.1 that answers queued responses per (method, path).

A reply with ``stream`` set is a streaming response (X's filtered stream, Mastodon's SSE): its
items are written one by one as they come — bytes are sent and flushed, a number pauses that
many seconds — and the connection is then closed, which is how a server drops a stream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_bytes(kind: str, name: str) -> bytes:
    return (FIXTURES / kind / name).read_bytes()


def fixture_json(kind: str, name: str) -> Any:
    return json.loads(fixture_bytes(kind, name))


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: list[bytes | float] | None = None


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class FakeApi:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply | Callable[[Seen], Reply]]] = {}
        self.seen: list[Seen] = []
        self.base_url = ""
        self.closing = threading.Event()  # ends streaming pauses when the server shuts down

    def on(self, method: str, path: str, *replies: Reply | Callable[[Seen], Reply]) -> None:
        """Queue replies; the last one repeats."""
        self.routes.setdefault((method, path), []).extend(replies)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    def answer(self, seen: Seen) -> Reply:
        self.seen.append(seen)
        queue = self.routes.get((seen.method, seen.path))
        if not queue:
            return Reply(404, {"title": "Not Found Error", "detail": f"no route {seen.path}"})
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        return item(seen) if callable(item) else item


def running_fake_api() -> Iterator[FakeApi]:
    """Generator for a fixture: ``yield from running_fake_api()``."""
    api = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            seen = Seen(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            reply = api.answer(seen)
            if reply.stream is not None:
                self._stream(reply)
                return
            payload = reply.body
            if not isinstance(payload, bytes):
                payload = json.dumps(payload).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _stream(self, reply: Reply) -> None:
            self.close_connection = True
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                for item in reply.stream or []:
                    if isinstance(item, bytes):
                        self.wfile.write(item)
                        self.wfile.flush()
                    elif api.closing.wait(item):
                        return
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up (e.g. its silence watchdog fired)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        api.closing.set()
        server.shutdown()
        server.server_close()
