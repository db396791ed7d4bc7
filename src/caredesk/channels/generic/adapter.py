"""Generic JSON webhook: forums, review sites and anything else that can POST JSON.

Inbound (``POST /hooks/generic/{token}``), signed with ``X-Caredesk-Signature:
sha256=<hex HMAC-SHA256 of the raw body with the account's webhook_secret>``::

    {"id": "post-1", "text": "...", "created_at": "2026-11-20T10:00:00Z",
     "author": {"id": "u1", "handle": "jane", "name": "Jane", "followers": 10, "verified": false},
     "in_reply_to": null, "private": false, "url": null, "lang": null, "subject": null}

or ``{"posts": [<post>, ...]}`` (at most 500). Outbound replies are POSTed as JSON to the
account's ``reply_url`` with an ``Idempotency-Key`` header; the receiver answers ``{"id": ...}``.
``GET reply_url?idempotency_key=K`` answering 200 ``{"id": ...}`` lets us reconcile after a crash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from caredesk.channels.base import (
    FetchResult,
    HandshakeResponse,
    InboundPost,
    OutboundReply,
    PermanentChannelError,
    SendResult,
    TransientChannelError,
    WebhookRejected,
    WebhookRequest,
)
from caredesk.channels.signing import header, hmac_sha256_hex, signatures_match

MAX_POSTS = 500
MAX_TEXT = 100_000


def _str(value: Any, field: str, *, required: bool = True, limit: int = 300) -> str | None:
    if value is None or value == "":
        if required:
            raise WebhookRejected(f"field {field!r} is required")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise WebhookRejected(f"field {field!r} must be a string")
    if len(value) > limit:
        raise WebhookRejected(f"field {field!r} is longer than {limit} characters")
    return value


def parse_post(item: Any, channel: str = "generic", index: int = 0) -> InboundPost:
    where = f"posts[{index}]"
    if not isinstance(item, dict):
        raise WebhookRejected(f"{where} must be a JSON object")
    try:
        external_id = _str(item.get("id"), f"{where}.id")
        text = _str(item.get("text"), f"{where}.text", limit=MAX_TEXT)
        author = item.get("author")
        if not isinstance(author, dict):
            raise WebhookRejected(f"{where}.author must be an object with an id")
        author_id = _str(author.get("id"), f"{where}.author.id")
        created_raw = item.get("created_at")
        if created_raw is None:
            created = datetime.now(UTC)
        else:
            created = datetime.fromisoformat(str(created_raw).replace("Z", "+00:00"))
            if created.tzinfo is None:
                raise WebhookRejected(f"{where}.created_at needs a time zone (e.g. Z)")
        followers = author.get("followers")
        if followers is not None and (not isinstance(followers, int) or followers < 0):
            raise WebhookRejected(f"{where}.author.followers must be a non-negative integer")
    except ValueError as exc:
        raise WebhookRejected(f"{where}: {exc}") from exc
    assert external_id is not None and text is not None and author_id is not None
    return InboundPost(
        channel=channel,
        external_id=external_id,
        text=text,
        author_external_id=author_id,
        created_at=created.astimezone(UTC),
        author_handle=_str(author.get("handle"), f"{where}.author.handle", required=False),
        author_name=_str(author.get("name"), f"{where}.author.name", required=False),
        author_followers=followers,
        author_verified=bool(author.get("verified", False)),
        in_reply_to_external_id=_str(
            item.get("in_reply_to"), f"{where}.in_reply_to", required=False
        ),
        is_private=bool(item.get("private", False)),
        url=_str(item.get("url"), f"{where}.url", required=False, limit=500),
        lang_hint=_str(item.get("lang"), f"{where}.lang", required=False, limit=8),
        subject=_str(item.get("subject"), f"{where}.subject", required=False),
        raw=item,
    )


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise WebhookRejected("body is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise WebhookRejected(f"body is not valid JSON: {exc.msg} at line {exc.lineno}") from exc


class GenericAdapter:
    kind: ClassVar[str] = "generic"
    max_text_length: ClassVar[int | None] = None

    def handshake(
        self, request: WebhookRequest, config: Mapping[str, Any]
    ) -> HandshakeResponse | None:
        return None

    def verify(self, request: WebhookRequest, config: Mapping[str, Any]) -> None:
        secret = config.get("webhook_secret")
        if not secret:
            raise WebhookRejected("this account has no webhook_secret configured", 403)
        given = header(request.headers, "x-caredesk-signature")
        expected = "sha256=" + hmac_sha256_hex(str(secret), request.body)
        if not signatures_match(expected, given):
            raise WebhookRejected("bad or missing X-Caredesk-Signature", 401)

    def parse(self, request: WebhookRequest, config: Mapping[str, Any]) -> list[InboundPost]:
        data = decode_json(request.body)
        items = data.get("posts") if isinstance(data, dict) and "posts" in data else [data]
        if not isinstance(items, list) or not items:
            raise WebhookRejected("'posts' must be a non-empty list")
        if len(items) > MAX_POSTS:
            raise WebhookRejected(f"at most {MAX_POSTS} posts per delivery")
        return [parse_post(item, self.kind, i) for i, item in enumerate(items)]

    def fetch(self, cursor: str | None, config: Mapping[str, Any]) -> FetchResult:
        return FetchResult(posts=[], next_cursor=cursor)

    def _url(self, config: Mapping[str, Any]) -> str:
        url = config.get("reply_url")
        if not url:
            raise PermanentChannelError("no reply_url configured for this generic account")
        return str(url)

    def send(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult:
        body = {
            "idempotency_key": reply.idempotency_key,
            "text": reply.text,
            "in_reply_to": reply.in_reply_to_external_id,
            "recipient": reply.recipient_external_id,
            "private": reply.private,
        }
        try:
            response = httpx.post(
                self._url(config),
                json=body,
                headers={"Idempotency-Key": reply.idempotency_key},
                timeout=float(config.get("timeout_s", 10)),
            )
        except httpx.HTTPError as exc:
            raise TransientChannelError(f"network error: {exc}") from exc
        return _result(response)

    def find_sent(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult | None:
        try:
            response = httpx.get(
                self._url(config),
                params={"idempotency_key": reply.idempotency_key},
                timeout=float(config.get("timeout_s", 10)),
            )
        except httpx.HTTPError as exc:
            raise TransientChannelError(f"network error: {exc}") from exc
        if response.status_code == 404:
            return None
        return _result(response)


def _result(response: httpx.Response) -> SendResult:
    if response.status_code == 429 or response.status_code >= 500:
        retry = response.headers.get("retry-after")
        raise TransientChannelError(
            f"HTTP {response.status_code}", float(retry) if retry and retry.isdigit() else None
        )
    if response.status_code >= 400:
        raise PermanentChannelError(f"HTTP {response.status_code}: {response.text[:300]}")
    try:
        data = response.json()
        return SendResult(external_id=str(data["id"]), url=data.get("url"))
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentChannelError('receiver did not answer with {"id": ...}') from exc


ADAPTER = GenericAdapter()
