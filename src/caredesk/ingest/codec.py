"""InboundPost <-> JSON, so the inbox row alone is enough to reprocess a post."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caredesk.channels.base import InboundPost
from caredesk.kit.clock import ensure_utc


def post_to_json(post: InboundPost) -> dict[str, Any]:
    return {
        "channel": post.channel,
        "external_id": post.external_id,
        "text": post.text,
        "author_external_id": post.author_external_id,
        "created_at": ensure_utc(post.created_at).isoformat(),
        "author_handle": post.author_handle,
        "author_name": post.author_name,
        "author_followers": post.author_followers,
        "author_verified": post.author_verified,
        "in_reply_to_external_id": post.in_reply_to_external_id,
        "is_private": post.is_private,
        "account_ref": post.account_ref,
        "url": post.url,
        "lang_hint": post.lang_hint,
        "thread_refs": list(post.thread_refs),
        "subject": post.subject,
    }


def post_from_json(data: dict[str, Any]) -> InboundPost:
    return InboundPost(
        channel=data["channel"],
        external_id=data["external_id"],
        text=data["text"],
        author_external_id=data["author_external_id"],
        created_at=ensure_utc(datetime.fromisoformat(data["created_at"])),
        author_handle=data.get("author_handle"),
        author_name=data.get("author_name"),
        author_followers=data.get("author_followers"),
        author_verified=bool(data.get("author_verified", False)),
        in_reply_to_external_id=data.get("in_reply_to_external_id"),
        is_private=bool(data.get("is_private", False)),
        account_ref=data.get("account_ref"),
        url=data.get("url"),
        lang_hint=data.get("lang_hint"),
        thread_refs=tuple(data.get("thread_refs") or ()),
        subject=data.get("subject"),
    )
