"""Meta adapter: Facebook page (feed comments, visitor posts, Messenger) and Instagram.

Account settings (``config``):

- ``api_base_url``       default ``https://graph.facebook.com/v21.0``; tests use a local server.
- ``app_secret``         secret; verifies ``X-Hub-Signature-256`` (hex HMAC-SHA256 of the body).
- ``verify_token``       secret chosen when subscribing; checked in the ``hub.challenge`` handshake.
- ``page_access_token``  secret; Page token (``pages_manage_engagement``, ``pages_messaging``,
                         ``instagram_manage_comments``, ``instagram_manage_messages``).
- ``timeout``            seconds per call (default 15); ``max_webhook_bytes`` (default 1 MiB).

Meta pushes everything through webhooks, so :meth:`MetaAdapter.fetch` returns nothing.
Graph has no idempotency key: a send whose outcome is unknown (timeout after the request left,
unreadable answer) fails permanently for an agent to check, rather than risking a double reply.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import structlog

from caredesk.channels.base import (
    ChannelAdapter,
    ChannelError,
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
from caredesk.channels.http import (
    DEFAULT_MAX_WEBHOOK_BYTES,
    HttpClient,
    error_text,
    float_setting,
    header,
    int_setting,
    join_url,
    load_webhook_json,
    required,
    setting,
)
from caredesk.channels.meta import parse

log = structlog.get_logger(__name__)

DEFAULT_API = "https://graph.facebook.com/v21.0"
# Graph error codes that mean "slow down / try later" (rate limits, temporary outages).
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 613, 80001, 80002, 80004, 80005, 80006, 80008}
_CHALLENGE = re.compile(r"^[A-Za-z0-9_\-.]{1,256}$")


def signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def graph_error(
    status: int, headers: httpx.Headers, data: Any, retry_after: float | None
) -> ChannelError:
    """Graph reports most failures as HTTP 400 with ``error.code``: classify by code."""
    error = data.get("error") if isinstance(data, Mapping) else None
    code = error.get("code") if isinstance(error, Mapping) else None
    message = error_text(data, f"HTTP {status}")
    transient_flag = isinstance(error, Mapping) and error.get("is_transient") is True
    if status == 429 or status >= 500 or code in TRANSIENT_CODES or transient_flag:
        wait = retry_after if retry_after is not None else _regain_access_seconds(headers)
        return TransientChannelError(f"Graph error {code}: {message}", retry_after=wait)
    return PermanentChannelError(f"Graph error {code}: {message}")


def _regain_access_seconds(headers: httpx.Headers) -> float | None:
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        item.get("estimated_time_to_regain_access", 0)
        for items in (usage.values() if isinstance(usage, Mapping) else [])
        if isinstance(items, list)
        for item in items
        if isinstance(item, Mapping)
    ]
    numeric = [m for m in minutes if isinstance(m, int | float)]
    return max(numeric) * 60.0 if numeric and max(numeric) > 0 else None


class MetaAdapter:
    kind: ClassVar[str] = "meta"
    # Messenger text limit; Facebook comments allow more, Instagram comments 2,200.
    max_text_length: ClassVar[int | None] = 2000

    def __init__(self, http: HttpClient | None = None) -> None:
        self.http = http or HttpClient()

    # --- webhook -----------------------------------------------------------------------------

    def handshake(
        self, request: WebhookRequest, config: Mapping[str, Any]
    ) -> HandshakeResponse | None:
        if request.method.upper() != "GET":
            return None
        if request.query.get("hub.mode") != "subscribe":
            raise WebhookRejected("expected hub.mode=subscribe", status_code=400)
        expected = setting(config, "verify_token")
        given = request.query.get("hub.verify_token", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookRejected("hub.verify_token does not match", status_code=403)
        challenge = request.query.get("hub.challenge", "")
        # Echoed verbatim as text/plain; refuse anything but a token so nothing is reflected.
        if not _CHALLENGE.match(challenge):
            raise WebhookRejected("missing or malformed hub.challenge", status_code=400)
        return HandshakeResponse(200, challenge.encode(), media_type="text/plain")

    def verify(self, request: WebhookRequest, config: Mapping[str, Any]) -> None:
        secret = setting(config, "app_secret")
        if not secret:
            raise WebhookRejected("account has no app_secret", status_code=401)
        given = header(request.headers, "x-hub-signature-256")
        if not given:
            raise WebhookRejected("missing X-Hub-Signature-256", status_code=401)
        expected = signature(secret, request.body)
        if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
            raise WebhookRejected("bad X-Hub-Signature-256", status_code=401)

    def parse(self, request: WebhookRequest, config: Mapping[str, Any]) -> list[InboundPost]:
        limit = int_setting(config, "max_webhook_bytes", DEFAULT_MAX_WEBHOOK_BYTES)
        payload = load_webhook_json(request.body, limit)
        try:
            posts, rejected = parse.delivery(payload)
        except parse.Malformed as exc:
            raise WebhookRejected(str(exc)) from exc
        if rejected and not posts:
            raise WebhookRejected("; ".join(reason for reason, _ in rejected)[:500])
        for reason, _item in rejected:
            log.warning("meta.webhook.item_rejected", reason=reason)
        return posts

    def fetch(self, cursor: str | None, config: Mapping[str, Any]) -> FetchResult:
        return FetchResult(posts=[], next_cursor=cursor)

    # --- sending -----------------------------------------------------------------------------

    def send(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult:
        if not reply.text.strip():
            raise PermanentChannelError("empty reply")
        base = setting(config, "api_base_url", DEFAULT_API) or DEFAULT_API
        token = required(config, "page_access_token")
        target = reply.in_reply_to_external_id or ""
        prefix, _, target_id = target.partition(":") if ":" in target else ("", "", target)
        instagram = prefix.startswith("ig_")
        if reply.private:
            if prefix in {"comment", "ig_comment"}:
                # Private reply: one message to the commenter, allowed once per comment.
                recipient: dict[str, str] = {"comment_id": target_id}
            elif reply.recipient_external_id:
                recipient = {"id": reply.recipient_external_id}
            else:
                raise PermanentChannelError("a private reply needs a comment or recipient id")
            body = {
                "recipient": recipient,
                "messaging_type": "RESPONSE",
                "message": {"text": reply.text},
            }
            data = self._post(join_url(base, "me/messages"), body, token, config)
            message_id = data.get("message_id")
            if not isinstance(message_id, str):
                raise PermanentChannelError("Meta accepted the message but returned no message_id")
            return SendResult(external_id=f"{'ig_dm' if instagram else 'dm'}:{message_id}")
        if prefix in {"dm", "ig_dm"}:
            raise PermanentChannelError("a private message cannot be answered publicly")
        if prefix == "comment" or (prefix == "" and target_id):
            path, result_prefix = f"{target_id}/comments", "comment"
        elif prefix == "ig_comment":
            path, result_prefix = f"{target_id}/replies", "ig_comment"
        elif prefix == "ig_media":
            path, result_prefix = f"{target_id}/comments", "ig_comment"
        else:
            raise PermanentChannelError("a public reply needs a post or comment to answer")
        if not re.fullmatch(r"[0-9_]{1,64}", target_id):
            raise PermanentChannelError(f"not a Graph object id: {target_id[:80]!r}")
        data = self._post(join_url(base, path), {"message": reply.text}, token, config)
        new_id = data.get("id")
        if not isinstance(new_id, str):
            raise PermanentChannelError("Meta accepted the comment but returned no id")
        return SendResult(external_id=f"{result_prefix}:{new_id}")

    def _post(
        self, url: str, body: Mapping[str, Any], token: str, config: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        response = self.http.request(
            "POST",
            url,
            headers={"Authorization": f"Bearer {token}"},
            json_body=body,
            rate_key=f"meta#{hashlib.sha256(token.encode()).hexdigest()[:12]}",
            timeout=float_setting(config, "timeout", 15.0),
            retry_safe=False,
            error_mapper=graph_error,
        )
        if not isinstance(response.data, Mapping):
            raise PermanentChannelError("Meta answered with something other than an object")
        return response.data


ADAPTER = MetaAdapter()

if TYPE_CHECKING:  # the plug-in satisfies the lead's protocol
    _conforms: ChannelAdapter = ADAPTER
