"""One RFC 5322 message (untrusted bytes) to an :class:`InboundPost`.

The external id is the Message-ID without angle brackets ("abc@example.com"). A message with no
Message-ID gets "sha256:<digest of its bytes>", stable across re-reads and UIDVALIDITY changes.
In-Reply-To / References are kept the same way (bare ids) in ``in_reply_to_external_id`` and
``thread_refs``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

from caredesk.channels.base import InboundPost
from caredesk.channels.http import clean_text
from caredesk.channels.mastodon.html_text import html_to_text

KIND = "email"
MAX_REFS = 50
KEEP_SOURCE_BYTES = 1024 * 1024
_MSG_ID = re.compile(r"<([^<>\s]{1,500})>")


class Malformed(ValueError):
    pass


def message_ids(value: str | None) -> list[str]:
    """Bare msg-ids in a Message-ID / In-Reply-To / References value, in order."""
    if not value:
        return []
    found = _MSG_ID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]  # some mailers omit the brackets
    return found


def header(msg: Message, name: str) -> str | None:
    """A decoded header value that never raises (RFC 2047 words, bad charsets, junk)."""
    try:
        value = msg.get(name)
    except Exception:  # the modern header parser can choke on hostile input
        value = None
        for key, raw in msg.raw_items() if isinstance(msg, EmailMessage) else []:
            if key.lower() == name.lower():
                value = _decode_words(str(raw))
                break
    if value is None:
        return None
    text = str(value)
    if "=?" in text:
        text = _decode_words(text)
    return clean_text(" ".join(text.split()), 2000)


def _decode_words(raw: str) -> str:
    try:
        return str(make_header(decode_header(raw)))
    except Exception:  # unknown charset or broken encoded-word: keep it readable
        return raw


def _sender(msg: Message) -> tuple[str, str | None]:
    raw = header(msg, "From") or header(msg, "Sender") or header(msg, "Return-Path")
    if not raw:
        raise Malformed("message without From")
    try:
        pairs = getaddresses([raw])
    except Exception:
        pairs = [parseaddr(raw)]
    for name, address in pairs:
        if "@" in address:
            return address.strip().lower()[:320], (name.strip() or None)
    raise Malformed(f"no address in From: {raw[:100]!r}")


def _date(msg: Message, fallback: datetime) -> datetime:
    raw = header(msg, "Date")
    if raw:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            return fallback
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return fallback


def _part_text(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
            if isinstance(content, str):
                return content
        except (LookupError, ValueError, AssertionError, UnicodeError, KeyError):
            pass  # unknown charset or broken transfer encoding: decode by hand below
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def body_text(msg: EmailMessage) -> str:
    """text/plain preferred, else text/html as text; attachments named, never decoded."""
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    text = ""
    if part is not None:
        text = _part_text(part)
        if part.get_content_type() == "text/html":
            text = html_to_text(text)
    elif msg.get_content_maintype() == "text":
        text = _part_text(msg)
    names = []
    try:
        for attachment in msg.iter_attachments():
            names.append(attachment.get_filename() or attachment.get_content_type())
    except Exception:  # a broken MIME tree: the text above is what matters
        names.append("unreadable")
    if names:
        labels = " ".join(f"[attachment: {clean_text(n, 200)}]" for n in names[:20])
        text = f"{text.rstrip()}\n\n{labels}" if text.strip() else labels
    return text.replace("\r\n", "\n").strip()


def parse_message(
    raw: bytes, *, received_at: datetime, account_ref: str | None, extra: dict[str, Any]
) -> InboundPost:
    if not raw.strip():
        raise Malformed("empty message")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(msg, EmailMessage):  # pragma: no cover - policy.default guarantees it
        raise Malformed("not a message")
    author, name = _sender(msg)
    ids = message_ids(header(msg, "Message-ID"))
    external_id = ids[0] if ids else "sha256:" + hashlib.sha256(raw).hexdigest()[:40]
    in_reply_to = message_ids(header(msg, "In-Reply-To"))
    refs = message_ids(header(msg, "References"))
    for ref in in_reply_to:
        if ref not in refs:
            refs.append(ref)
    subject = header(msg, "Subject")
    headers = [(k, header(msg, k) or "") for k in dict.fromkeys(msg.keys())][:100]
    raw_record: dict[str, Any] = {**extra, "headers": headers, "size": len(raw)}
    if len(raw) <= KEEP_SOURCE_BYTES:
        raw_record["source_b64"] = base64.b64encode(raw).decode()
    lang = header(msg, "Content-Language")
    return InboundPost(
        channel=KIND,
        external_id=external_id,
        text=clean_text(body_text(msg)),
        author_external_id=author,
        created_at=_date(msg, received_at),
        author_handle=author,
        author_name=name,
        in_reply_to_external_id=in_reply_to[0] if in_reply_to else None,
        is_private=True,
        account_ref=account_ref,
        lang_hint=lang.split(",")[0].strip()[:35] if lang else None,
        thread_refs=tuple(refs[-MAX_REFS:]),
        subject=subject,
        raw=raw_record,
    )
