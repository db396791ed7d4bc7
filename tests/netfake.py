"""A real local HTTP server that speaks the generic channel's reply API, for tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class ReplyNetwork:
    url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    # Status codes to answer the next POSTs with, before accepting (e.g. [503, 429]).
    fail_next: list[int] = field(default_factory=list)
    by_key: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def reply_network() -> Iterator[ReplyNetwork]:
    net = ReplyNetwork()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            key = parse_qs(urlparse(self.path).query).get("idempotency_key", [""])[0]
            with net.lock:
                found = net.by_key.get(key)
            if found:
                self._send(200, {"id": found})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with net.lock:
                if net.fail_next:
                    status = net.fail_next.pop(0)
                    self._send(status, {"error": f"simulated {status}"})
                    return
                key = self.headers.get("Idempotency-Key", "")
                if key in net.by_key:  # the network dedupes by key, like Mastodon does
                    self._send(200, {"id": net.by_key[key]})
                    return
                reply_id = f"net-{len(net.posts) + 1}"
                net.posts.append(body)
                net.by_key[key] = reply_id
            self._send(200, {"id": reply_id})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    net.url = f"http://127.0.0.1:{server.server_address[1]}/replies"
    try:
        yield net
    finally:
        server.shutdown()
        server.server_close()
