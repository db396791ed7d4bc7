"""X payloads (API v2 responses, Account Activity events) to :class:`InboundPost`.

External ids: a post (tweet) is its bare id ("1445880548472328192"); a direct message is
"dm:<dm event id>" so DMs never collide with posts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from caredesk.channels.base import InboundPost
from caredesk.channels.http import clean_text

KIND = "x"


class Malformed(ValueError):
    """One item of a payload cannot be turned into a post (counted as rejected)."""


def unescape_x(text: str) -> str:
    # X HTML-escapes exactly these three in post text; undo only them so "<script>" typed by a
    # customer stays literal text and nothing else is reinterpreted.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _str(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
        return str(value)
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_iso(value: Any) -> datetime:
    if not isinstance(value, str):
        raise Malformed("missing created_at")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Malformed(f"bad created_at {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_WEEKDAYS = frozenset(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])


def parse_v1_date(value: Any) -> datetime:
    """v1.1 dates, as in Account Activity: 'Wed Oct 10 20:19:24 +0000 2018'.

    Split by hand: ``strptime`` took a tenth of the webhook's CPU per post. Anything but the
    exact layout goes to ``strptime``, which names the problem."""
    if not isinstance(value, str):
        raise Malformed("missing created_at")
    parts = value.split(" ")
    if len(parts) == 6 and parts[0] in _WEEKDAYS and parts[4] == "+0000":
        clock = parts[3].split(":")
        month = _MONTHS.get(parts[1])
        if month and len(clock) == 3 and all(p.isdigit() for p in (parts[2], parts[5], *clock)):
            try:
                return datetime(
                    int(parts[5]), month, int(parts[2]),
                    int(clock[0]), int(clock[1]), int(clock[2]), tzinfo=UTC,
                )  # fmt: skip
            except ValueError as exc:
                raise Malformed(f"bad created_at {value[:40]!r}") from exc
    try:
        return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError as exc:
        raise Malformed(f"bad created_at {value[:40]!r}") from exc


def from_millis(value: Any) -> datetime:
    millis = _int(value)
    if millis is None:
        raise Malformed("missing timestamp")
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise Malformed(f"bad timestamp {millis}") from exc


def post_url(handle: str | None, post_id: str) -> str:
    return f"https://x.com/{handle or 'i/web'}/status/{post_id}"


def v2_users(payload: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    includes = payload.get("includes")
    users = includes.get("users") if isinstance(includes, Mapping) else None
    result: dict[str, Mapping[str, Any]] = {}
    if isinstance(users, list):
        for user in users:
            if isinstance(user, Mapping) and _str(user.get("id")):
                result[str(user["id"])] = user
    return result


def v2_tweet(
    tweet: Any, users: Mapping[str, Mapping[str, Any]], account_ref: str | None
) -> InboundPost:
    """One post object of an API v2 response (mentions, search, filtered stream)."""
    if not isinstance(tweet, Mapping):
        raise Malformed("post is not an object")
    post_id = _str(tweet.get("id"))
    author_id = _str(tweet.get("author_id"))
    if post_id is None or author_id is None:
        raise Malformed("post without id or author_id")
    note = tweet.get("note_tweet")
    text = note.get("text") if isinstance(note, Mapping) else None
    if not isinstance(text, str):
        text = tweet.get("text")
    if not isinstance(text, str):
        raise Malformed(f"post {post_id} has no text")
    in_reply_to = None
    refs = tweet.get("referenced_tweets")
    if isinstance(refs, list):
        for ref in refs:
            if isinstance(ref, Mapping) and ref.get("type") == "replied_to":
                in_reply_to = _str(ref.get("id"))
    user = users.get(author_id, {})
    metrics = user.get("public_metrics")
    handle = _str(user.get("username"))
    conversation = _str(tweet.get("conversation_id"))
    return InboundPost(
        channel=KIND,
        external_id=post_id,
        text=clean_text(unescape_x(text)),
        author_external_id=author_id,
        created_at=parse_iso(tweet.get("created_at")),
        author_handle=handle,
        author_name=_str(user.get("name")),
        author_followers=_int(metrics.get("followers_count"))
        if isinstance(metrics, Mapping)
        else None,
        author_verified=user.get("verified") is True
        or user.get("verified_type") in {"blue", "business", "government"},
        in_reply_to_external_id=in_reply_to,
        account_ref=account_ref,
        url=post_url(handle, post_id),
        lang_hint=_str(tweet.get("lang")),
        thread_refs=(conversation,) if conversation else (),
        raw={"data": tweet, "user": user},
    )


def v1_tweet(tweet: Any, account_ref: str | None) -> InboundPost:
    """A v1.1 post object as delivered in ``tweet_create_events``."""
    if not isinstance(tweet, Mapping):
        raise Malformed("event is not an object")
    post_id = _str(tweet.get("id_str")) or _str(tweet.get("id"))
    user = tweet.get("user")
    if post_id is None or not isinstance(user, Mapping):
        raise Malformed("post without id or user")
    author_id = _str(user.get("id_str")) or _str(user.get("id"))
    if author_id is None:
        raise Malformed(f"post {post_id} without author id")
    text: Any = None
    extended = tweet.get("extended_tweet")
    if isinstance(extended, Mapping):
        text = extended.get("full_text")
    if not isinstance(text, str):
        text = tweet.get("full_text") if isinstance(tweet.get("full_text"), str) else None
    if not isinstance(text, str):
        text = tweet.get("text")
    if not isinstance(text, str):
        raise Malformed(f"post {post_id} has no text")
    handle = _str(user.get("screen_name"))
    return InboundPost(
        channel=KIND,
        external_id=post_id,
        text=clean_text(unescape_x(text)),
        author_external_id=author_id,
        created_at=parse_v1_date(tweet.get("created_at")),
        author_handle=handle,
        author_name=_str(user.get("name")),
        author_followers=_int(user.get("followers_count")),
        author_verified=user.get("verified") is True,
        in_reply_to_external_id=_str(tweet.get("in_reply_to_status_id_str")),
        account_ref=account_ref,
        url=post_url(handle, post_id),
        lang_hint=_str(tweet.get("lang")),
        raw=tweet,
    )


def dm_event(event: Any, users: Mapping[str, Any], account_ref: str | None) -> InboundPost | None:
    """A ``direct_message_events`` item; None for event types that carry no message."""
    if not isinstance(event, Mapping):
        raise Malformed("event is not an object")
    if event.get("type") != "message_create":
        return None
    event_id = _str(event.get("id"))
    create = event.get("message_create")
    if event_id is None or not isinstance(create, Mapping):
        raise Malformed("message_create without id")
    sender = _str(create.get("sender_id"))
    data = create.get("message_data")
    text = data.get("text") if isinstance(data, Mapping) else None
    if sender is None or not isinstance(text, str):
        raise Malformed(f"message {event_id} without sender or text")
    user = users.get(sender)
    user = user if isinstance(user, Mapping) else {}
    return InboundPost(
        channel=KIND,
        external_id=f"dm:{event_id}",
        text=clean_text(unescape_x(text)),
        author_external_id=sender,
        created_at=from_millis(event.get("created_timestamp")),
        author_handle=_str(user.get("screen_name")),
        author_name=_str(user.get("name")),
        author_followers=_int(user.get("followers_count")),
        author_verified=user.get("verified") is True,
        is_private=True,
        account_ref=account_ref,
        raw={"event": event, "user": user},
    )


def account_activity(payload: Any) -> tuple[list[InboundPost], list[tuple[str, Any]]]:
    """Posts and DMs of one Account Activity delivery; other event kinds are ignored."""
    if not isinstance(payload, Mapping):
        raise Malformed("delivery is not a JSON object")
    account_ref = _str(payload.get("for_user_id"))
    posts: list[InboundPost] = []
    rejected: list[tuple[str, Any]] = []
    tweets = payload.get("tweet_create_events")
    if tweets is not None:
        if not isinstance(tweets, list):
            raise Malformed("tweet_create_events is not a list")
        for tweet in tweets:
            try:
                posts.append(v1_tweet(tweet, account_ref))
            except Malformed as exc:
                rejected.append((str(exc), tweet))
    events = payload.get("direct_message_events")
    if events is not None:
        if not isinstance(events, list):
            raise Malformed("direct_message_events is not a list")
        users = payload.get("users")
        users = users if isinstance(users, Mapping) else {}
        for event in events:
            try:
                post = dm_event(event, users, account_ref)
            except Malformed as exc:
                rejected.append((str(exc), event))
            else:
                if post is not None:
                    posts.append(post)
    return posts, rejected
