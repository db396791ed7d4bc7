"""Sandbox delivery: a local stand-in network for demo and trial accounts.

An account whose config says ``"delivery_adapter": "sandbox"`` sends its replies here instead
of to the real network: each reply is appended to ``sandbox_path`` (JSON lines) and gets a
``sandbox-...`` id. Nothing leaves the machine, and the UI marks such accounts as sandboxed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from caredesk.channels.base import (
    FetchResult,
    HandshakeResponse,
    InboundPost,
    OutboundReply,
    SendResult,
    WebhookRejected,
    WebhookRequest,
)

_lock = threading.Lock()


class SandboxAdapter:
    kind: ClassVar[str] = "sandbox"
    max_text_length: ClassVar[int | None] = None

    def _path(self, config: Mapping[str, Any]) -> Path:
        return Path(str(config.get("sandbox_path", "var/sandbox-outbox.jsonl")))

    def handshake(
        self, request: WebhookRequest, config: Mapping[str, Any]
    ) -> HandshakeResponse | None:
        return None

    def verify(self, request: WebhookRequest, config: Mapping[str, Any]) -> None:
        raise WebhookRejected("the sandbox does not receive webhooks", 404)

    def parse(self, request: WebhookRequest, config: Mapping[str, Any]) -> list[InboundPost]:
        return []

    def fetch(self, cursor: str | None, config: Mapping[str, Any]) -> FetchResult:
        return FetchResult(posts=[], next_cursor=cursor)

    def send(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult:
        found = self.find_sent(reply, config)
        if found is not None:
            return found
        external_id = f"sandbox-{reply.idempotency_key[:16]}"
        path = self._path(config)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "id": external_id,
            "idempotency_key": reply.idempotency_key,
            "at": datetime.now(UTC).isoformat(),
            "text": reply.text,
            "in_reply_to": reply.in_reply_to_external_id,
            "to": reply.recipient_handle,
            "private": reply.private,
        }
        with _lock, path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return SendResult(external_id=external_id)

    def find_sent(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult | None:
        path = self._path(config)
        if not path.exists():
            return None
        with _lock, path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    data = json.loads(line)
                except ValueError:
                    continue
                if data.get("idempotency_key") == reply.idempotency_key:
                    return SendResult(external_id=str(data["id"]))
        return None


ADAPTER = SandboxAdapter()
