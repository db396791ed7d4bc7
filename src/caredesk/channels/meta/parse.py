"""Meta webhook deliveries (``object: page`` / ``object: instagram``) to :class:`InboundPost`.

External ids (all on channel "meta"; Facebook and Instagram ids never share a prefix):

- ``<post_id>``              a Facebook page or visitor post (bare Graph id "PAGEID_POSTID")
- ``comment:<comment_id>``   a Facebook comment
- ``dm:<mid>``               a Messenger message
- ``ig_comment:<id>``        an Instagram comment; ``ig_media:<id>`` is what it replies to
- ``ig_dm:<mid>``            an Instagram direct message
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from caredesk.channels.base import InboundPost
from caredesk.channels.http import clean_text

KIND = "meta"
# Feed items that are posts on the page (by the page or by visitors).
_POST_ITEMS = {"status", "post", "photo", "video", "share", "link"}


class Malformed(ValueError):
    pass


def _str(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int):
        return str(value)
    return None


def parse_time(value: Any, fallback: Any = None) -> datetime:
    """Unix seconds, Unix milliseconds or Graph's ISO form ('2022-11-03T14:55:16+0000')."""
    for candidate in (value, fallback):
        if isinstance(candidate, int | float) and not isinstance(candidate, bool):
            seconds = candidate / 1000 if candidate > 100_000_000_000 else candidate
            try:
                return datetime.fromtimestamp(seconds, tz=UTC)
            except (OverflowError, OSError, ValueError):
                continue
        if isinstance(candidate, str):
            text = candidate
            if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
                text = text[:-2] + ":" + text[-2:]
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                continue
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    raise Malformed("no usable timestamp")


def _from(value: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    sender = value.get("from")
    if not isinstance(sender, Mapping) or not _str(sender.get("id")):
        raise Malformed("change without from.id")
    return str(sender["id"]), _str(sender.get("username")), _str(sender.get("name"))


def feed_change(value: Any, page_id: str | None, entry_time: Any) -> InboundPost | None:
    if not isinstance(value, Mapping):
        raise Malformed("feed change value is not an object")
    if value.get("verb") != "add":
        return None  # edits, hides and removals are not new posts
    item = value.get("item")
    if item == "comment":
        comment_id = _str(value.get("comment_id"))
        post_id = _str(value.get("post_id"))
        if comment_id is None or post_id is None:
            raise Malformed("comment without comment_id or post_id")
        parent = _str(value.get("parent_id")) or post_id
        external_id = f"comment:{comment_id}"
        in_reply_to = post_id if parent == post_id else f"comment:{parent}"
        post = value.get("post")
        url = _str(post.get("permalink_url")) if isinstance(post, Mapping) else None
    elif item in _POST_ITEMS:
        post_id = _str(value.get("post_id"))
        if post_id is None:
            raise Malformed(f"{item} without post_id")
        external_id, in_reply_to, url = post_id, None, f"https://www.facebook.com/{post_id}"
    else:
        return None  # reactions, likes, events...
    try:
        author_id, _, author_name = _from(value)
    except Malformed:
        # Graph omits "from" when the app may not see the author; the comment still counts.
        # A per-item id keeps unknown authors from merging into one customer.
        author_id, author_name = f"anonymous:{external_id}", None
    message = value.get("message")
    text = message if isinstance(message, str) else ""
    if not text and _str(value.get("photo") or value.get("link")):
        text = "[attachment]"
    return InboundPost(
        channel=KIND,
        external_id=external_id,
        text=clean_text(text),
        author_external_id=author_id,
        created_at=parse_time(value.get("created_time"), entry_time),
        author_name=author_name,
        in_reply_to_external_id=in_reply_to,
        account_ref=page_id,
        url=url,
        raw=value,
    )


def instagram_comment(value: Any, account_id: str | None, entry_time: Any) -> InboundPost:
    if not isinstance(value, Mapping):
        raise Malformed("comment value is not an object")
    comment_id = _str(value.get("id"))
    if comment_id is None:
        raise Malformed("instagram comment without id")
    author_id, username, _ = _from(value)
    parent = _str(value.get("parent_id"))
    media = value.get("media")
    media_id = _str(media.get("id")) if isinstance(media, Mapping) else None
    in_reply_to = (
        f"ig_comment:{parent}" if parent else (f"ig_media:{media_id}" if media_id else None)
    )
    text = value.get("text")
    return InboundPost(
        channel=KIND,
        external_id=f"ig_comment:{comment_id}",
        text=clean_text(text if isinstance(text, str) else ""),
        author_external_id=author_id,
        created_at=parse_time(value.get("timestamp"), entry_time),
        author_handle=username,
        in_reply_to_external_id=in_reply_to,
        account_ref=account_id,
        raw=value,
    )


def messaging_event(event: Any, prefix: str, account_id: str | None) -> InboundPost | None:
    """A Messenger / Instagram messaging item; deliveries, reads, reactions -> None."""
    if not isinstance(event, Mapping):
        raise Malformed("messaging item is not an object")
    message = event.get("message")
    if not isinstance(message, Mapping):
        return None
    mid = _str(message.get("mid"))
    sender = event.get("sender")
    sender_id = _str(sender.get("id")) if isinstance(sender, Mapping) else None
    if mid is None or sender_id is None:
        raise Malformed("message without mid or sender.id")
    text = message.get("text")
    text = text if isinstance(text, str) else ""
    attachments = message.get("attachments")
    if isinstance(attachments, list):
        kinds = [_str(a.get("type")) or "file" for a in attachments if isinstance(a, Mapping)]
        labels = " ".join(f"[{kind}]" for kind in kinds)
        text = f"{text}\n{labels}".strip() if labels else text
    reply_to = message.get("reply_to")
    in_reply_to = _str(reply_to.get("mid")) if isinstance(reply_to, Mapping) else None
    recipient = event.get("recipient")
    return InboundPost(
        channel=KIND,
        external_id=f"{prefix}:{mid}",
        text=clean_text(text),
        author_external_id=sender_id,
        created_at=parse_time(event.get("timestamp")),
        in_reply_to_external_id=f"{prefix}:{in_reply_to}" if in_reply_to else None,
        is_private=True,
        account_ref=(_str(recipient.get("id")) if isinstance(recipient, Mapping) else None)
        or account_id,
        raw=event,
    )


def _changes(entry: Mapping[str, Any]) -> Iterator[Any]:
    changes = entry.get("changes")
    if isinstance(changes, list):
        yield from changes
    elif changes is not None:
        raise Malformed("changes is not a list")
    if "field" in entry and "value" in entry:
        # Instagram Login deliveries put one change directly on the entry.
        yield {"field": entry["field"], "value": entry["value"]}


def delivery(payload: Any) -> tuple[list[InboundPost], list[tuple[str, Any]]]:
    if not isinstance(payload, Mapping):
        raise Malformed("delivery is not a JSON object")
    obj = payload.get("object")
    entries = payload.get("entry")
    if obj not in {"page", "instagram"} or not isinstance(entries, list):
        raise Malformed("expected object 'page' or 'instagram' with an entry list")
    instagram = obj == "instagram"
    posts: list[InboundPost] = []
    rejected: list[tuple[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            rejected.append(("entry is not an object", entry))
            continue
        account_id = _str(entry.get("id"))
        try:
            changes = list(_changes(entry))
        except Malformed as exc:
            rejected.append((str(exc), entry))
            changes = []
        for change in changes:
            if not isinstance(change, Mapping):
                rejected.append(("change is not an object", change))
                continue
            field = change.get("field")
            try:
                post: InboundPost | None = None
                if field == "feed" and not instagram:
                    post = feed_change(change.get("value"), account_id, entry.get("time"))
                elif field in {"comments", "live_comments"} and instagram:
                    post = instagram_comment(change.get("value"), account_id, entry.get("time"))
            except Malformed as exc:
                rejected.append((str(exc), change))
                continue
            if post is not None:
                posts.append(post)
        messaging = entry.get("messaging")
        if isinstance(messaging, list):
            for event in messaging:
                try:
                    post = messaging_event(event, "ig_dm" if instagram else "dm", account_id)
                except Malformed as exc:
                    rejected.append((str(exc), event))
                    continue
                if post is not None:
                    posts.append(post)
    return posts, rejected
