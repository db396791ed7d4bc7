"""Mastodon adapter (REST API v1/v2 of any Mastodon-compatible instance).

Account settings (``config``):

- ``api_base_url``      the instance, e.g. ``https://mastodon.social`` (required).
- ``access_token``      secret; an app token with ``read:notifications read:statuses
                        read:search write:statuses``.
- ``handle``            the brand account (e.g. ``acme@mastodon.social``), used as ``account_ref``.
- ``hashtags``          list (or comma-separated) of hashtags to follow, without ``#``.
- ``search_queries``    list of keyword searches (``/api/v2/search?type=statuses``); instances
                        only search posts whose authors opted in, so hashtags matter more.
- ``reply_visibility``  visibility of public replies (default ``public``; ``unlisted`` is quieter).
- ``max_pages``         pages per stream per poll (default 5); ``timeout`` seconds (default 15).

Polling reads forward with ``min_id`` ("results immediately newer than"), following the
``Link: rel="prev"`` URL when the instance gives one, so every page moves the cursor forward and a
poll cut short never skips posts. The cursor is JSON: {"notifications": id, "tag:acme": id, ...}.
The first poll of a stream records the newest id without backfilling history.

Streaming (``/api/v1/streaming``, account setting ``stream: true``) is read by
:mod:`caredesk.channels.mastodon.stream` under ``caredesk channels stream``, for posts within
seconds; polling stays the safety net with its durable cursor (overlaps are absorbed by the inbox).
:meth:`MastodonAdapter.parse_stream_event` turns one streaming event into posts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

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
    ApiResponse,
    HttpClient,
    float_setting,
    int_setting,
    join_url,
    list_setting,
    load_cursor,
    load_webhook_json,
    required,
    setting,
    token_key,
)
from caredesk.channels.mastodon import parse

PAGE_LIMIT = "40"
ALLOWED_VISIBILITY = {"public", "unlisted", "private", "direct"}

Extractor = Callable[[Any], tuple[list[tuple[str, Any]], bool]]


def _id_key(value: str) -> tuple[int, str]:
    return (len(value), value)


def _max_id(ids: list[str]) -> str | None:
    return max(ids, key=_id_key) if ids else None


class MastodonAdapter:
    kind: ClassVar[str] = "mastodon"
    # Mastodon's default; instances may allow more (see /api/v2/instance configuration).
    max_text_length: ClassVar[int | None] = 500

    def __init__(self, http: HttpClient | None = None) -> None:
        self.http = http or HttpClient()

    # Mastodon has no webhooks for accounts: polling (and optionally streaming) only.
    def handshake(
        self, request: WebhookRequest, config: Mapping[str, Any]
    ) -> HandshakeResponse | None:
        return None

    def verify(self, request: WebhookRequest, config: Mapping[str, Any]) -> None:
        raise WebhookRejected("Mastodon accounts are polled, not pushed", status_code=404)

    def parse(self, request: WebhookRequest, config: Mapping[str, Any]) -> list[InboundPost]:
        raise WebhookRejected("Mastodon accounts are polled, not pushed", status_code=404)

    def parse_stream_event(
        self, event: str, payload: bytes, config: Mapping[str, Any]
    ) -> list[InboundPost]:
        """A streaming API event (``notification`` or ``update``) to posts; others -> []."""
        if event not in {"notification", "update"}:
            return []
        data = load_webhook_json(payload)
        try:
            if event == "notification":
                post = parse.notification_to_post(data, setting(config, "handle"))
                return [post] if post else []
            return [parse.status_to_post(data, setting(config, "handle"))]
        except parse.Malformed as exc:
            raise WebhookRejected(str(exc)) from exc

    # --- polling -----------------------------------------------------------------------------

    def fetch(self, cursor: str | None, config: Mapping[str, Any]) -> FetchResult:
        base = required(config, "api_base_url")
        state = load_cursor(cursor, "mastodon")
        streams: list[tuple[str, str, dict[str, str], Extractor]] = [
            ("notifications", "api/v1/notifications", {"types[]": "mention"}, _notifications)
        ]
        for tag in list_setting(config, "hashtags"):
            tag = tag.lstrip("#").lower()  # hashtags are case-insensitive
            streams.append(
                (f"tag:{tag}", f"api/v1/timelines/tag/{quote(tag, safe='')}", {}, _statuses)
            )
        for query in list_setting(config, "search_queries"):
            params = {"q": query, "type": "statuses", "resolve": "false"}
            streams.append((f"search:{query}", "api/v2/search", params, _search))
        account_ref = setting(config, "handle")
        posts: list[InboundPost] = []
        rejected: list[tuple[str, Any]] = []
        seen: set[str] = set()
        errors: list[ChannelError] = []
        for name, path, params, extract in streams:
            try:
                items, stream_rejected, new_cursor = self._poll_stream(
                    join_url(base, path), params, extract, state.get(name), config
                )
            except ChannelError as exc:
                errors.append(exc)
                rejected.append((f"{name}: {exc}", {"stream": name}))
                continue
            if new_cursor:
                state[name] = new_cursor
            rejected.extend(stream_rejected)
            for kind, item in items:
                try:
                    post = (
                        parse.notification_to_post(item, account_ref)
                        if kind == "notification"
                        else parse.status_to_post(item, account_ref)
                    )
                except parse.Malformed as exc:
                    rejected.append((str(exc), item))
                    continue
                if post is not None and post.external_id not in seen:
                    seen.add(post.external_id)
                    posts.append(post)
        if errors and len(errors) == len(streams):
            raise errors[0]
        return FetchResult(posts, json.dumps(state, sort_keys=True), rejected)

    def _poll_stream(
        self,
        url: str,
        params: dict[str, str],
        extract: Extractor,
        min_id: Any,
        config: Mapping[str, Any],
    ) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]], str | None]:
        cursor = min_id if isinstance(min_id, str) and min_id else None
        max_pages = max(1, int_setting(config, "max_pages", 5))
        items: list[tuple[str, Any]] = []
        rejected: list[tuple[str, Any]] = []
        next_url: str | None = None
        for page in range(max_pages):
            query: dict[str, str] | None = {**params, "limit": PAGE_LIMIT}
            if next_url is not None:
                target, query = next_url, None
            else:
                target = url
                if cursor is not None and query is not None:
                    query["min_id"] = cursor
            try:
                response = self._get(target, query, config)
            except TransientChannelError:
                if page == 0:
                    raise
                break  # pages already read moved the cursor; the rest comes next poll
            page_items, has_ids = extract(response.data)
            if not has_ids and response.data not in ([], None):
                rejected.append(("unexpected response shape", response.data))
            ids = [str(i["id"]) for _, i in page_items if isinstance(i, Mapping) and _good_id(i)]
            items.extend(page_items)
            newest = _max_id(ids)
            if newest is None:
                break
            if cursor is None:
                cursor = newest
                break  # first poll: note where "now" is, do not walk back through history
            cursor = newest if _id_key(newest) > _id_key(cursor) else cursor
            prev = parse.parse_link_header(response.headers.get("link")).get("prev")
            next_url = prev if prev and _same_origin(prev, url) else None
        return items, rejected, cursor

    def _get(
        self, url: str, query: Mapping[str, str] | None, config: Mapping[str, Any]
    ) -> ApiResponse:
        token = setting(config, "access_token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(
            "GET",
            url,
            headers=headers,
            params=query,
            rate_key=f"{urlsplit(url).netloc}#{token_key(token or '')}",
            timeout=float_setting(config, "timeout", 15.0),
        )

    # --- sending -----------------------------------------------------------------------------

    def send(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult:
        base = required(config, "api_base_url")
        token = required(config, "access_token")
        text = reply.text
        if not text.strip():
            raise PermanentChannelError("empty reply")
        handle = (reply.recipient_handle or "").lstrip("@")
        if handle and f"@{handle}".lower() not in text.lower():
            # Mastodon notifies (and, for direct posts, shows the post to) mentioned accounts only.
            text = f"@{handle} {text}"
        elif reply.private and not handle:
            raise PermanentChannelError("a direct Mastodon reply needs recipient_handle")
        visibility = "direct" if reply.private else setting(config, "reply_visibility", "public")
        if visibility not in ALLOWED_VISIBILITY:
            raise PermanentChannelError(f"reply_visibility {visibility!r} is not a visibility")
        body: dict[str, Any] = {"status": text, "visibility": visibility}
        if reply.in_reply_to_external_id:
            body["in_reply_to_id"] = reply.in_reply_to_external_id
        if reply.subject:
            body["spoiler_text"] = reply.subject
        response = self.http.request(
            "POST",
            join_url(base, "api/v1/statuses"),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": reply.idempotency_key},
            json_body=body,
            rate_key=f"{urlsplit(base).netloc}#{token_key(token)}#post",
            timeout=float_setting(config, "timeout", 15.0),
            # The instance dedupes on Idempotency-Key, so resending after a timeout is safe.
            retry_safe=True,
        )
        data = response.data
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            raise PermanentChannelError("instance accepted the post but returned no status id")
        url = data.get("url")
        return SendResult(external_id=data["id"], url=url if isinstance(url, str) else None)


def _notifications(data: Any) -> tuple[list[tuple[str, Any]], bool]:
    if not isinstance(data, list):
        return [], False
    return [("notification", item) for item in data], True


def _statuses(data: Any) -> tuple[list[tuple[str, Any]], bool]:
    if not isinstance(data, list):
        return [], False
    return [("status", item) for item in data], True


def _search(data: Any) -> tuple[list[tuple[str, Any]], bool]:
    statuses = data.get("statuses") if isinstance(data, Mapping) else None
    if not isinstance(statuses, list):
        return [], False
    return [("status", item) for item in statuses], True


def _good_id(item: Mapping[str, Any]) -> bool:
    value = item.get("id")
    return isinstance(value, str) and 0 < len(value) <= 64


def _same_origin(link: str, url: str) -> bool:
    # Never follow a pagination link to another host: it would receive our access token.
    a, b = urlsplit(link), urlsplit(url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


ADAPTER = MastodonAdapter()

if TYPE_CHECKING:  # the plug-in satisfies the lead's protocol
    _conforms: ChannelAdapter = ADAPTER
