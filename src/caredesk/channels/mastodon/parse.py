"""Mastodon entities (Status, Notification) to :class:`InboundPost`.

External id: the status id on the account's instance (bare). Direct messages on Mastodon are
statuses with ``visibility: direct``, so they share the id space without colliding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from caredesk.channels.base import InboundPost
from caredesk.channels.http import clean_text
from caredesk.channels.mastodon.html_text import html_to_text

KIND = "mastodon"


class Malformed(ValueError):
    pass


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise Malformed("missing created_at")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Malformed(f"bad created_at {value[:40]!r}") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _attachments(status: Mapping[str, Any]) -> str:
    media = status.get("media_attachments")
    if not isinstance(media, list):
        return ""
    labels = []
    for item in media:
        if isinstance(item, Mapping):
            kind = _str(item.get("type")) or "attachment"
            description = _str(item.get("description"))
            labels.append(f"[{kind}: {description}]" if description else f"[{kind}]")
    return " ".join(labels)


def status_to_post(status: Any, account_ref: str | None) -> InboundPost:
    if not isinstance(status, Mapping):
        raise Malformed("status is not an object")
    reblog = status.get("reblog")
    if isinstance(reblog, Mapping):
        # A boost carries the original post; that is what the customer wrote.
        status = reblog
    status_id = _str(status.get("id"))
    account = status.get("account")
    if status_id is None or not isinstance(account, Mapping) or not _str(account.get("id")):
        raise Malformed("status without id or account")
    content = status.get("content")
    if not isinstance(content, str):
        raise Malformed(f"status {status_id} has no content")
    text = html_to_text(content)
    extra = _attachments(status)
    if extra:
        text = f"{text}\n{extra}" if text else extra
    spoiler = _str(status.get("spoiler_text"))
    followers = account.get("followers_count")
    return InboundPost(
        channel=KIND,
        external_id=status_id,
        text=clean_text(text),
        author_external_id=str(account["id"]),
        created_at=parse_time(status.get("created_at")),
        author_handle=_str(account.get("acct")) or _str(account.get("username")),
        author_name=_str(account.get("display_name")) or _str(account.get("username")),
        author_followers=followers
        if isinstance(followers, int) and not isinstance(followers, bool)
        else None,
        in_reply_to_external_id=_str(status.get("in_reply_to_id")),
        is_private=status.get("visibility") == "direct",
        account_ref=account_ref,
        url=_str(status.get("url")) or _str(status.get("uri")),
        lang_hint=_str(status.get("language")),
        subject=clean_text(spoiler, 500) if spoiler else None,
        raw=status,
    )


def notification_to_post(notification: Any, account_ref: str | None) -> InboundPost | None:
    """A mention notification's status; None for other notification types."""
    if not isinstance(notification, Mapping):
        raise Malformed("notification is not an object")
    if notification.get("type") != "mention":
        return None
    status = notification.get("status")
    if status is None:
        raise Malformed(f"mention {notification.get('id')!r} without status")
    return status_to_post(status, account_ref)


_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";,]+)"?')


def parse_link_header(value: str | None) -> dict[str, str]:
    """``Link: <url>; rel="next", <url>; rel="prev"`` -> {"next": url, "prev": url}."""
    if not value:
        return {}
    return {rel: url for url, rel in _LINK.findall(value)}
