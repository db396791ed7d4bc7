"""X (Twitter API v2) adapter.

Account settings (``config``):

- ``api_base_url``       default ``https://api.x.com``; tests point it at a local server.
- ``user_id``            the brand account's numeric id (mentions timeline, ``account_ref``).
- ``bearer_token``       secret; OAuth 2.0 app-only token used for reading (mentions, search).
- ``user_access_token``  secret; OAuth 2.0 user-context token (``tweet.write dm.write``) used to
                         post replies and DMs; falls back to ``bearer_token``.
- ``consumer_secret``    secret; the app's consumer secret, for the Account Activity CRC
                         challenge and ``x-twitter-webhooks-signature`` verification.
- ``search_query``       optional recent-search query (e.g. ``"acme router" -is:retweet``).
- ``max_pages``          pages per stream per poll (default 5); the rest continues next poll.
- ``initial_pages``      pages read on the very first poll (default 1: no deep backfill).
- ``timeout``            seconds per HTTP call (default 15).
- ``max_webhook_bytes``  webhook body limit (default 1 MiB).

The poll cursor is a JSON object with one entry per stream ("mentions", "search"):
``{"since_id": ...}`` once caught up, or ``{"since_id", "next_token", "newest"}`` while a
backlog is being paged through, so a poll cut short by ``max_pages`` or a rate limit resumes
where it stopped instead of skipping posts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

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
    float_setting,
    header,
    int_setting,
    join_url,
    load_cursor,
    load_webhook_json,
    required,
    setting,
    token_key,
)
from caredesk.channels.x import parse
from caredesk.channels.x.text import X_MAX_WEIGHTED_LENGTH, x_weighted_length

log = structlog.get_logger(__name__)

DEFAULT_API = "https://api.x.com"
TWEET_FIELDS = (
    "created_at,author_id,lang,referenced_tweets,conversation_id,in_reply_to_user_id,note_tweet"
)
USER_FIELDS = "username,name,public_metrics,verified,verified_type"
EXPANSIONS = "author_id"


def crc_response_token(consumer_secret: str, crc_token: str) -> str:
    digest = hmac.new(consumer_secret.encode(), crc_token.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def webhook_signature(consumer_secret: str, body: bytes) -> str:
    digest = hmac.new(consumer_secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def _id_key(value: str) -> tuple[int, str]:
    # Post ids are decimal snowflakes: compare by length then text (no int overflow games).
    return (len(value), value)


def _newer(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if _id_key(a) >= _id_key(b) else b


class XAdapter:
    kind: ClassVar[str] = "x"
    max_text_length: ClassVar[int | None] = X_MAX_WEIGHTED_LENGTH

    def __init__(self, http: HttpClient | None = None) -> None:
        self.http = http or HttpClient()

    # --- webhook -----------------------------------------------------------------------------

    def handshake(
        self, request: WebhookRequest, config: Mapping[str, Any]
    ) -> HandshakeResponse | None:
        if request.method.upper() != "GET":
            return None
        crc_token = request.query.get("crc_token")
        if not crc_token:
            raise WebhookRejected("GET without crc_token", status_code=400)
        secret = setting(config, "consumer_secret")
        if not secret:
            raise WebhookRejected("account has no consumer_secret", status_code=401)
        body = json.dumps({"response_token": crc_response_token(secret, crc_token)})
        return HandshakeResponse(200, body.encode())

    def verify(self, request: WebhookRequest, config: Mapping[str, Any]) -> None:
        secret = setting(config, "consumer_secret")
        if not secret:
            raise WebhookRejected("account has no consumer_secret", status_code=401)
        given = header(request.headers, "x-twitter-webhooks-signature")
        if not given:
            raise WebhookRejected("missing x-twitter-webhooks-signature", status_code=401)
        expected = webhook_signature(secret, request.body)
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise WebhookRejected("bad x-twitter-webhooks-signature", status_code=401)

    def parse(self, request: WebhookRequest, config: Mapping[str, Any]) -> list[InboundPost]:
        limit = int_setting(config, "max_webhook_bytes", DEFAULT_MAX_WEBHOOK_BYTES)
        payload = load_webhook_json(request.body, limit)
        try:
            posts, rejected = parse.account_activity(payload)
        except parse.Malformed as exc:
            raise WebhookRejected(str(exc)) from exc
        if rejected and not posts:
            raise WebhookRejected("; ".join(reason for reason, _ in rejected)[:500])
        for reason, _item in rejected:
            log.warning("x.webhook.item_rejected", reason=reason)
        return posts

    def parse_stream_line(self, line: bytes, config: Mapping[str, Any]) -> list[InboundPost]:
        """One line of the filtered stream (``GET /2/tweets/search/stream``); keep-alives -> []."""
        if not line.strip():
            return []
        payload = load_webhook_json(line)
        if not isinstance(payload, Mapping) or "data" not in payload:
            raise WebhookRejected("stream line is not a post")
        try:
            return [parse.v2_tweet(payload["data"], parse.v2_users(payload), self._ref(config))]
        except parse.Malformed as exc:
            raise WebhookRejected(str(exc)) from exc

    # --- polling -----------------------------------------------------------------------------

    def fetch(self, cursor: str | None, config: Mapping[str, Any]) -> FetchResult:
        state = load_cursor(cursor, "x")
        streams: list[tuple[str, str, dict[str, str], str]] = []
        user_id = setting(config, "user_id")
        if user_id:
            if not user_id.isdigit():
                raise PermanentChannelError("X user_id must be the numeric account id")
            streams.append(("mentions", f"2/users/{user_id}/mentions", {}, "pagination_token"))
        query = setting(config, "search_query")
        if query:
            streams.append(("search", "2/tweets/search/recent", {"query": query}, "next_token"))
        if not streams:
            raise PermanentChannelError("X account needs user_id or search_query to poll")
        posts: list[InboundPost] = []
        rejected: list[tuple[str, Any]] = []
        seen: set[str] = set()
        errors: list[ChannelError] = []
        for name, path, params, token_param in streams:
            try:
                stream_posts, stream_rejected, state[name] = self._poll_stream(
                    path, params, token_param, state.get(name, {}), config
                )
            except ChannelError as exc:
                errors.append(exc)
                rejected.append((f"{name}: {exc}", {"stream": name}))
                continue
            rejected.extend(stream_rejected)
            for post in stream_posts:
                # The same post found by mentions and by search is returned once.
                if post.external_id not in seen:
                    seen.add(post.external_id)
                    posts.append(post)
        if errors and len(errors) == len(streams):
            raise errors[0]
        return FetchResult(
            posts=posts, next_cursor=json.dumps(state, sort_keys=True), rejected=rejected
        )

    def _poll_stream(
        self,
        path: str,
        params: dict[str, str],
        token_param: str,
        state: Mapping[str, Any],
        config: Mapping[str, Any],
    ) -> tuple[list[InboundPost], list[tuple[str, Any]], dict[str, str]]:
        since = state.get("since_id") if isinstance(state.get("since_id"), str) else None
        token = state.get("next_token") if isinstance(state.get("next_token"), str) else None
        newest = state.get("newest") if isinstance(state.get("newest"), str) else None
        max_pages = max(1, int_setting(config, "max_pages", 5))
        if since is None:
            max_pages = max(1, min(max_pages, int_setting(config, "initial_pages", 1)))
        base = join_url(setting(config, "api_base_url", DEFAULT_API) or DEFAULT_API, path)
        posts: list[InboundPost] = []
        rejected: list[tuple[str, Any]] = []
        for page in range(max_pages):
            query: dict[str, str] = {
                **params,
                "max_results": "100",
                "tweet.fields": TWEET_FIELDS,
                "user.fields": USER_FIELDS,
                "expansions": EXPANSIONS,
            }
            if since:
                query["since_id"] = since
            if token:
                query[token_param] = token
            try:
                data = self._get(base, query, config)
            except TransientChannelError:
                if page == 0:
                    raise
                break  # keep what we have; the cursor resumes at this page
            except PermanentChannelError as exc:
                if page != 0:
                    raise
                if token is not None:
                    # A stored next_token the network no longer accepts: restart from since_id
                    # (re-reading is safe, the inbox dedupes); skipping would lose posts.
                    log.warning("x.cursor.stale_token", path=path)
                    query.pop(token_param, None)
                    token = None
                elif since is not None and "since_id" in str(exc):
                    # Recent search only reaches back 7 days: after a long outage the stored
                    # since_id is refused. Read what is still reachable instead of failing forever.
                    log.warning("x.cursor.since_id_too_old", path=path, since_id=since)
                    query.pop("since_id", None)
                    since = None
                else:
                    raise
                data = self._get(base, query, config)
            page_posts, page_rejected = self._page(data, config)
            posts.extend(page_posts)
            rejected.extend(page_rejected)
            raw_meta = data.get("meta")
            meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
            newest_id = meta.get("newest_id") if isinstance(meta.get("newest_id"), str) else None
            for post in page_posts:
                newest_id = _newer(newest_id, post.external_id)
            newest = _newer(newest, newest_id)
            next_token = meta.get("next_token")
            token = next_token if isinstance(next_token, str) and next_token else None
            if token is None:
                break
        if token is not None and since is not None:
            return (
                posts,
                rejected,
                {"since_id": since, "next_token": token, "newest": newest or since},
            )
        # Caught up (or first poll: history older than the first pages is not backfilled).
        caught_up = _newer(since, newest)
        return posts, rejected, ({"since_id": caught_up} if caught_up else {})

    def _page(
        self, data: Mapping[str, Any], config: Mapping[str, Any]
    ) -> tuple[list[InboundPost], list[tuple[str, Any]]]:
        items = data.get("data", [])
        if not isinstance(items, list):
            return [], [("'data' is not a list", data)]
        users = parse.v2_users(data)
        posts: list[InboundPost] = []
        rejected: list[tuple[str, Any]] = []
        for item in items:
            try:
                posts.append(parse.v2_tweet(item, users, self._ref(config)))
            except parse.Malformed as exc:
                rejected.append((str(exc), item))
        return posts, rejected

    def _get(
        self, url: str, query: Mapping[str, str], config: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        token = required(config, "bearer_token")
        response = self.http.request(
            "GET",
            url,
            headers={"Authorization": f"Bearer {token}"},
            params=query,
            rate_key=f"{url}#{token_key(token)}",
            timeout=float_setting(config, "timeout", 15.0),
        )
        if not isinstance(response.data, Mapping):
            raise TransientChannelError(f"unexpected response from {url}")
        return response.data

    @staticmethod
    def _ref(config: Mapping[str, Any]) -> str | None:
        return setting(config, "user_id")

    # --- sending -----------------------------------------------------------------------------

    def send(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult:
        if not reply.text.strip():
            raise PermanentChannelError("empty reply")
        base = setting(config, "api_base_url", DEFAULT_API) or DEFAULT_API
        token = setting(config, "user_access_token") or required(config, "bearer_token")
        headers = {"Authorization": f"Bearer {token}"}
        timeout = float_setting(config, "timeout", 15.0)
        target = reply.in_reply_to_external_id
        if reply.private or (target or "").startswith("dm:"):
            participant = reply.recipient_external_id
            if not participant or not participant.isdigit():
                raise PermanentChannelError(
                    "a direct message needs a numeric recipient_external_id"
                )
            url = join_url(base, f"2/dm_conversations/with/{participant}/messages")
            response = self.http.request(
                "POST",
                url,
                headers=headers,
                json_body={"text": reply.text},
                rate_key=f"{join_url(base, '2/dm_conversations')}#{token_key(token)}",
                timeout=timeout,
                # X has no idempotency key for DMs: an ambiguous failure must not resend.
                retry_safe=False,
            )
            data = response.data.get("data") if isinstance(response.data, Mapping) else None
            event_id = data.get("dm_event_id") if isinstance(data, Mapping) else None
            if not isinstance(event_id, str):
                raise PermanentChannelError("X accepted the message but returned no dm_event_id")
            return SendResult(external_id=f"dm:{event_id}")
        length = x_weighted_length(reply.text)
        if length > X_MAX_WEIGHTED_LENGTH:
            raise PermanentChannelError(f"post is {length} weighted characters; X allows 280")
        body: dict[str, Any] = {"text": reply.text}
        if target:
            body["reply"] = {"in_reply_to_tweet_id": target}
        url = join_url(base, "2/tweets")
        response = self.http.request(
            "POST",
            url,
            headers=headers,
            json_body=body,
            rate_key=f"{url}#{token_key(token)}",
            timeout=timeout,
            # X refuses identical content ("duplicate content", 403), so a retry can't double-post.
            retry_safe=True,
        )
        data = response.data.get("data") if isinstance(response.data, Mapping) else None
        post_id = data.get("id") if isinstance(data, Mapping) else None
        if not isinstance(post_id, str):
            raise PermanentChannelError("X accepted the post but returned no id")
        return SendResult(
            external_id=post_id, url=parse.post_url(setting(config, "handle"), post_id)
        )

    # --- filtered stream rules ----------------------------------------------------------------

    def sync_stream_rules(
        self, desired: Mapping[str, str], config: Mapping[str, Any]
    ) -> dict[str, int]:
        """Make the filtered-stream rules equal ``desired`` (tag -> rule value).

        Reads ``GET /2/tweets/search/stream/rules``, deletes rules not wanted, adds missing ones.
        """
        url = join_url(
            setting(config, "api_base_url", DEFAULT_API) or DEFAULT_API,
            "2/tweets/search/stream/rules",
        )
        token = required(config, "bearer_token")
        headers = {"Authorization": f"Bearer {token}"}
        current = self.http.request(
            "GET", url, headers=headers, rate_key=f"{url}#{token_key(token)}"
        ).data
        existing = current.get("data") if isinstance(current, Mapping) else None
        have: dict[tuple[str, str], str] = {}
        for rule in existing if isinstance(existing, list) else []:
            if isinstance(rule, Mapping) and isinstance(rule.get("id"), str):
                have[(str(rule.get("tag", "")), str(rule.get("value", "")))] = rule["id"]
        want = {(tag, value) for tag, value in desired.items()}
        delete = [rule_id for key, rule_id in have.items() if key not in want]
        add = [{"value": value, "tag": tag} for tag, value in sorted(want - set(have))]
        if delete:
            self.http.request("POST", url, headers=headers, json_body=stream_rules_delete(delete))
        if add:
            self.http.request("POST", url, headers=headers, json_body={"add": add})
        return {"added": len(add), "deleted": len(delete)}


def stream_rules_delete(rule_ids: list[str]) -> dict[str, Any]:
    return {"delete": {"ids": rule_ids}}


ADAPTER = XAdapter()

if TYPE_CHECKING:  # the plug-in satisfies the lead's protocol
    _conforms: ChannelAdapter = ADAPTER
